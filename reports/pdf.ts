import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { ReportError } from './errors.ts';
import { FONT_FAMILY, footerFontCss } from './fonts.ts';

/** Debian's Chromium; puppeteer never downloads a browser here. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface PdfOptions {
  /** Chromium binary; else `ARBITER_CHROMIUM`, else /usr/bin/chromium. */
  readonly chromiumPath?: string;
  /** Per-render limit in milliseconds (default 60 s). */
  readonly timeoutMs?: number;
  /**
   * Told once if Chromium goes away before `close()` (a crash, the OOM killer): the renderer renders nothing more,
   * each render failing with `REPORT_PDF_FAILED`, and its owner closes it and starts another.
   */
  readonly onDisconnected?: () => void;
}

/** A started Chromium that renders many reports; close it when done. */
export interface PdfRenderer {
  render(html: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

// Page numbers live in Chromium's own footer, which renders apart from the page and sees none of its fonts,
// so the footer carries its own embedded face.
const HEADER = '<div></div>';
const footer = () =>
  `<style>${footerFontCss()}</style>` +
  '<div style="font-size:7.5pt;width:100%;margin:0 16mm;display:flex;justify-content:space-between;color:#5f6b7a;' +
  `font-family:'${FONT_FAMILY}'">` +
  '<span class="title"></span><span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>';

/** Starts Chromium (headless, fresh profile in a temp folder) for rendering reports to PDF. */
export async function createPdfRenderer(options: PdfOptions = {}): Promise<PdfRenderer> {
  const executablePath = options.chromiumPath ?? process.env.ARBITER_CHROMIUM ?? DEFAULT_CHROMIUM_PATH;
  const timeout = options.timeoutMs ?? 60_000;
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      args: CHROMIUM_FLAGS,
      // puppeteer passes it on as --user-data-dir: a fresh, empty profile for every browser.
      userDataDir,
      timeout,
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw new ReportError(
      'REPORT_PDF_FAILED',
      `cannot start Chromium at ${executablePath}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  let closing = false;
  browser.once('disconnected', () => {
    if (!closing) options.onDisconnected?.();
  });
  return {
    async render(html: string): Promise<Uint8Array> {
      // Opening the page is the first thing to fail once Chromium has died: it fails as the rest of a render does.
      let page: Page | undefined;
      try {
        page = await browser.newPage();
        // The report is self-contained (fonts and charts inline): any request the page makes is refused.
        await page.setRequestInterception(true);
        page.on('request', (request) => {
          const url = request.url();
          if (url.startsWith('data:') || url === 'about:blank') void request.continue();
          else void request.abort('blockedbyclient');
        });
        await page.setJavaScriptEnabled(false);
        await page.setContent(html, { waitUntil: 'load', timeout });
        await page.evaluateHandle('document.fonts.ready');
        const pdf = await page.pdf({
          format: 'A4',
          printBackground: true,
          preferCSSPageSize: true,
          displayHeaderFooter: true,
          headerTemplate: HEADER,
          footerTemplate: footer(),
          timeout,
        });
        return new Uint8Array(pdf);
      } catch (err) {
        throw new ReportError(
          'REPORT_PDF_FAILED',
          `Chromium failed to print the report: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      } finally {
        await page?.close().catch(() => {});
      }
    },
    async close(): Promise<void> {
      closing = true;
      await browser.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Renders one HTML document to PDF with a browser of its own; use `createPdfRenderer` for many. */
export async function renderPdf(html: string, options: PdfOptions = {}): Promise<Uint8Array> {
  const renderer = await createPdfRenderer(options);
  try {
    return await renderer.render(html);
  } finally {
    await renderer.close();
  }
}
