import { existsSync } from 'node:fs';

/** Where Chromium is looked for: `CHROMIUM_PATH`, then Debian's and other distributions' usual places. */
const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The system Chromium's executable, or undefined when none is installed. */
export function chromiumPath(): string | undefined {
  return CANDIDATES.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

/** Why browser tests do not run on this machine, said in the test's name and on the console. */
export const NO_CHROMIUM =
  'skipped: no Chromium on this machine (apt-get install -y chromium, or set CHROMIUM_PATH); .ci/run installs it';

/** What a headless Chromium saw of a page: console errors, requests that left the file, and the page's own checks. */
export interface PageVisit<T> {
  readonly consoleErrors: readonly string[];
  readonly externalRequests: readonly string[];
  readonly result: T;
}

/**
 * Opens `url` in the system Chromium (headless, through puppeteer-core: no browser download), evaluates `inspect` in
 * the page, and saves a full-page screenshot (PNG) to `screenshot`.
 */
export async function visitPage<T>(
  url: string,
  /** A JavaScript expression evaluated in the page (the tests' TypeScript has no DOM types); its value is returned. */
  inspect: string,
  options: { readonly screenshot: string; readonly width?: number },
): Promise<PageVisit<T>> {
  const { launch } = await import('puppeteer-core');
  const browser = await launch({
    executablePath: chromiumPath(),
    headless: true,
    // Tests run as root in CI, where Chromium refuses its sandbox.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: options.width ?? 1100, height: 900 });
    const consoleErrors: string[] = [];
    const externalRequests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) externalRequests.push(request.url());
    });
    await page.goto(url, { waitUntil: 'load' });
    const result = (await page.evaluate(inspect)) as T;
    await page.screenshot({ path: options.screenshot as `${string}.png`, fullPage: true });
    return { consoleErrors, externalRequests, result };
  } finally {
    await browser.close();
  }
}
