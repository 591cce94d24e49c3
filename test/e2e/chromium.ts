import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright';

/** Debian's Chromium; Playwright never downloads a browser here. */
export const CHROMIUM = process.env.EDGEFLEET_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Launches headless Chromium for the e2e tests. As root it needs --no-sandbox; the
 * background-networking flags stop it from dialling out (this machine has no network, and
 * tests may only talk to loopback and the lab).
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
