/**
 * The settings every PostgreSQL server the harness starts runs with (the container, the embedded
 * server, the pg_cron server), in one place.
 */

/** A PostgreSQL setting (`key`) and its value, as `postgres -c key=value` takes it. */
export type ServerSettings = Readonly<Record<string, string>>;

/** Durability is worthless for throwaway test data and costs seconds per suite. */
export const FAST_SERVER_SETTINGS: ServerSettings = {
	fsync: "off",
	synchronous_commit: "off",
	full_page_writes: "off",
};

/** The fast settings plus room for parallel test files with pools (more than the default 100 connections). */
export const TEST_SERVER_SETTINGS: ServerSettings = { ...FAST_SERVER_SETTINGS, max_connections: "300" };

/**
 * For a server run from binaries on this machine: TCP on 127.0.0.1 only ("localhost" may resolve
 * to ::1), and no Unix socket, whose default directory may not exist or may be a system server's
 * (/var/run/postgresql).
 */
export const LOOPBACK_SERVER_SETTINGS: ServerSettings = { listen_addresses: "127.0.0.1", unix_socket_directories: "" };

/** `settings` as `postgres` arguments: `-c key=value` each. */
export function serverFlags(settings: ServerSettings): string[] {
	return Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`]);
}

/** {@link TEST_SERVER_SETTINGS} as `-c key=value` arguments. */
export const TEST_SERVER_FLAGS: readonly string[] = serverFlags(TEST_SERVER_SETTINGS);

/**
 * initdb for a throwaway cluster: no fsync (the data is thrown away), UTF8 regardless of the
 * machine's locale (a bare C locale would give SQL_ASCII).
 */
export const FAST_INITDB_FLAGS: readonly string[] = ["--no-sync", "--encoding=UTF8", "--locale=C"];
