/**
 * The `authpg` binary.
 */
import { main } from "./main.js";

// Everything the user's config prints (Better Auth's logger writes info with
// console.log) goes to stderr: stdout carries only our output, so
// `authpg generate > schema.sql` and `authpg status --json` stay parseable.
console.log = console.info = console.debug = console.error;

const code = await main(process.argv.slice(2));
// Exit explicitly: a config may hold handles we cannot close (its own pools, timers).
process.exit(code);
