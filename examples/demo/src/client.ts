/** A browser-like HTTP client for the scripted steps: fetch with a cookie jar and an Origin header. */

/** One response, read once. */
export interface Reply {
	status: number;
	headers: Headers;
	body: unknown;
}

export class Client {
	readonly #cookies = new Map<string, string>();

	constructor(readonly baseURL: string) {}

	get(path: string): Promise<Reply> {
		return this.request("GET", path);
	}

	post(path: string, body: unknown): Promise<Reply> {
		return this.request("POST", path, body);
	}

	/** The cookie header this client sends, e.g. for a curl hint. */
	cookieHeader(): string {
		return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
	}

	async request(method: string, path: string, body?: unknown): Promise<Reply> {
		const headers = new Headers({ origin: this.baseURL });
		if (body !== undefined) headers.set("content-type", "application/json");
		const cookie = this.cookieHeader();
		if (cookie) headers.set("cookie", cookie);
		const response = await fetch(new URL(path, this.baseURL), {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		for (const set of response.headers.getSetCookie()) {
			const [pair = ""] = set.split(";");
			const eq = pair.indexOf("=");
			if (eq < 1) continue;
			const name = pair.slice(0, eq).trim();
			const value = pair.slice(eq + 1).trim();
			// An expired or emptied cookie is the server deleting it.
			if (value === "" || /max-age=0/i.test(set)) this.#cookies.delete(name);
			else this.#cookies.set(name, value);
		}
		const text = await response.text();
		let parsed: unknown = text;
		try {
			parsed = text ? JSON.parse(text) : null;
		} catch {
			// Not JSON: keep the text.
		}
		return { status: response.status, headers: response.headers, body: parsed };
	}
}
