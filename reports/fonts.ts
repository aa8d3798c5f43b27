import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// The report's only typeface, shipped by @fontsource/noto-sans and embedded as data URLs, so that the PDF's
// glyphs never depend on the fonts a machine happens to have installed. Latin + Latin Extended cover the
// languages of our regions' reports; unicode-range lets Chromium embed only the subsets a page uses.
export const FONT_FAMILY = 'Arbiter Noto Sans';

const SUBSETS = [
  {
    name: 'latin',
    range:
      'U+0000-00FF, U+0131, U+0152-0153, U+02BB-02BC, U+02C6, U+02DA, U+02DC, U+0304, U+0308, U+0329, U+2000-206F, U+20AC, U+2122, U+2191, U+2193, U+2212, U+2215, U+FEFF, U+FFFD',
  },
  {
    name: 'latin-ext',
    range:
      'U+0100-02BA, U+02BD-02C5, U+02C7-02CC, U+02CE-02D7, U+02DD-02FF, U+0304, U+0308, U+0329, U+1D00-1DBF, U+1E00-1E9F, U+1EF2-1EFF, U+2020, U+20A0-20AB, U+20AD-20C0, U+2113, U+2C60-2C7F, U+A720-A7FF',
  },
] as const;
const WEIGHTS = [400, 700] as const;

let cached: string | undefined;
let cachedFooter: string | undefined;

function faceRule(subset: (typeof SUBSETS)[number], weight: number): string {
  const require = createRequire(import.meta.url);
  const file = require.resolve(`@fontsource/noto-sans/files/noto-sans-${subset.name}-${weight}-normal.woff2`);
  const data = readFileSync(file).toString('base64');
  return (
    `@font-face{font-family:'${FONT_FAMILY}';font-style:normal;font-weight:${weight};font-display:block;` +
    `src:url(data:font/woff2;base64,${data}) format('woff2');unicode-range:${subset.range};}`
  );
}

/** `@font-face` rules with the font files inlined; read once per process. */
export function fontFaceCss(): string {
  if (cached !== undefined) return cached;
  const rules: string[] = [];
  for (const weight of WEIGHTS) for (const subset of SUBSETS) rules.push(faceRule(subset, weight));
  cached = rules.join('\n');
  return cached;
}

/** The regular Latin face alone, for Chromium's page footer, which renders apart from the page's fonts. */
export function footerFontCss(): string {
  cachedFooter ??= faceRule(SUBSETS[0], 400);
  return cachedFooter;
}
