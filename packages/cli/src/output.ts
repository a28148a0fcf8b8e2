/**
 * Where the commands write: results to stdout; prompts, progress notes and
 * errors to stderr, so `authpg generate > x.sql` and `authpg status --json | jq`
 * stay clean. Each call writes one line (a newline is added unless the text ends with one).
 */

/** Write a line of the command's output to stdout. */
export const out = (text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);

/** Write a note, refusal or error line to stderr. */
export const err = (text: string) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
