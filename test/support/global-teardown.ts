/** Stops every emulator the global setup started, leaving no process behind. */
export default async function globalTeardown() {
  await Promise.all((globalThis.__MOTO_SERVERS__ ?? []).map((server) => server.stop()));
  globalThis.__MOTO_SERVERS__ = undefined;
}
