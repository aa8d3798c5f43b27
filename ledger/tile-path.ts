// C2SP tlog-tiles paths: `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, where N is written in
// 3-digit groups, all but the last prefixed "x" (1234067 -> x001/x234/067).

export type TilePath =
  | { readonly kind: 'hash'; readonly level: number; readonly index: number; readonly width?: number }
  | { readonly kind: 'entries'; readonly index: number; readonly width?: number };

function formatIndex(index: number): string {
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

export function formatTilePath(tile: TilePath): string {
  const head = tile.kind === 'hash' ? `tile/${tile.level}` : 'tile/entries';
  return `${head}/${formatIndex(tile.index)}${tile.width !== undefined ? `.p/${tile.width}` : ''}`;
}

/**
 * Parses a tile path (relative to the log prefix); undefined when it is not one, so routes can answer 404.
 * Only the canonical spelling is a tile path: `x000/001` would name the same tile as `001`, and an immutable
 * tile served under several URLs defeats caches and lets two clients disagree on what they fetched.
 */
export function parseTilePath(path: string): TilePath | undefined {
  const tile = parseAnyTilePath(path);
  return tile && formatTilePath(tile) === path ? tile : undefined;
}

function parseAnyTilePath(path: string): TilePath | undefined {
  const match =
    /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(path);
  if (!match) return undefined;
  const index = Number(
    [
      ...match[2]!
        .split('/')
        .filter(Boolean)
        .map((g) => g.slice(1)),
      match[3],
    ].join(''),
  );
  const width = match[4] === undefined ? undefined : Number(match[4]);
  if (width !== undefined && width > 255) return undefined;
  if (!Number.isSafeInteger(index)) return undefined;
  const base = width === undefined ? {} : { width };
  return match[1] === 'entries'
    ? { kind: 'entries', index, ...base }
    : { kind: 'hash', level: Number(match[1]), index, ...base };
}
