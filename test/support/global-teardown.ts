/** Stops every emulator and the template service the global setup started, leaving no process behind. */
export default async function globalTeardown() {
  await globalThis.__TEMPLATE_SERVICE__?.close();
  globalThis.__TEMPLATE_SERVICE__ = undefined;
  await Promise.all((globalThis.__MOTO_SERVERS__ ?? []).map((server) => server.stop()));
  globalThis.__MOTO_SERVERS__ = undefined;
}
