// What a new user tries first, on the installed tarballs: sign up, sign in, read the session,
// fetch a JWT and verify it against the JWKS; then every server driver package reads the user.
import { createStores as nodePostgresStores } from "@authpg/node-postgres";
import { createStores as postgresJsStores } from "@authpg/postgres-js";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { auth, stores } from "./auth.js";

function check(ok: unknown, message: string): asserts ok {
	if (!ok) throw new Error(`packaging smoke: ${message}`);
}

const email = `ada-${Date.now()}@example.com`;
const password = "correct horse battery staple";

const signUp = await auth.api.signUpEmail({ body: { email, password, name: "Ada" } });
check(signUp.user.email === email, "sign-up returned another user");

const signIn = await auth.api.signInEmail({ body: { email, password }, asResponse: true });
check(signIn.status === 200, `sign-in answered ${signIn.status}`);
const cookie = signIn.headers
	.getSetCookie()
	.map((c) => c.split(";")[0])
	.join("; ");
const headers = new Headers({ cookie });

const session = await auth.api.getSession({ headers });
check(session?.user.id === signUp.user.id, "getSession did not find the signed-in user");

const tokenReply = await auth.handler(new Request("http://localhost:3000/api/auth/token", { headers }));
const { token } = (await tokenReply.json()) as { token: string };
const jwksReply = await auth.handler(new Request("http://localhost:3000/api/auth/jwks"));
const jwks = (await jwksReply.json()) as JSONWebKeySet;
const { payload } = await jwtVerify(token, createLocalJWKSet(jwks));
check(payload.sub === signUp.user.id, "the JWT's subject is not the user");

const drivers = {
	"@authpg/pool": stores,
	"@authpg/node-postgres": nodePostgresStores({ connectionString: process.env.DATABASE_URL, schema: "packaging" }),
	"@authpg/postgres-js": postgresJsStores({ connectionString: process.env.DATABASE_URL, schema: "packaging" }),
};
for (const [name, each] of Object.entries(drivers)) {
	const { rows } = await each.driver.query<{ email: string }>(
		'select "email" from "packaging"."user" where "id" = $1',
		[signUp.user.id],
	);
	check(rows[0]?.email === email, `${name} did not read the user back`);
	await each.close();
}

console.log(
	`sign-up, sign-in, getSession (${session.user.email}), JWT verified against the JWKS (kid ${jwks.keys[0]?.kid}); ` +
		`${Object.keys(drivers).join(", ")} read the user back`,
);
