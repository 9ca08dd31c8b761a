import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, it } from 'node:test';
import { describeInBrowser, type Site, serveSite, useChromium, useListeningApp } from '../support/browser.ts';

describeInBrowser('browser test support', () => {
  const app = useListeningApp();
  const browser = useChromium();
  let site: Site;
  before(async () => {
    site = await serveSite({ '/': '<!doctype html><title>Site</title><h1>Customer site</h1>' });
  });
  after(async () => site.close());

  it('serves the site and the app on two origins a real Chromium reaches', async () => {
    const { baseUrl } = app();
    const page = await browser().newPage();
    try {
      await page.goto(site.url('/?utm_source=x'));
      assert.equal(await page.textContent('h1'), 'Customer site');
      assert.notEqual(new URL(site.origin).origin, new URL(baseUrl).origin);
      const health = await page.goto(`${baseUrl}/healthz`);
      assert.equal(health?.status(), 200);
      assert.deepEqual(await health?.json(), { status: 'ok' });
      assert.equal((await page.goto(site.url('/missing')))?.status(), 404);
    } finally {
      await page.close();
    }
  });

  it('gives the app a public URL naming its real port', () => {
    const { t, baseUrl } = app();
    assert.equal(t.services.config.publicUrl, baseUrl);
  });

  it('holds its port for as long as the app runs: another server cannot take it', async () => {
    const port = Number(new URL(app().baseUrl).port);
    const other = net.createServer();
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      other.once('error', resolve);
      other.listen(port, '127.0.0.1', () => other.close(() => resolve(undefined)));
    });
    assert.equal(error?.code, 'EADDRINUSE');
  });
});
