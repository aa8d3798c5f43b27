import { MAX_BUNDLE_ENTRIES, type EntryRecord, type LedgerReader } from '../ledger/index.ts';
import { activationsToCite, waiversToCite, type WaiverStore } from '../policies/index.ts';

/** Every entry of one type in the region's log below `size`, in ledger order, read a page at a time. */
export async function entriesOfType(
  reader: LedgerReader,
  region: string,
  type: string,
  size: number,
): Promise<EntryRecord[]> {
  const all: EntryRecord[] = [];
  for (let from = 0; from < size;) {
    const page = await reader.entries(region, { from, to: size, type });
    all.push(...page);
    if (page.length < MAX_BUNDLE_ENTRIES) break;
    from = page.at(-1)!.seq + 1;
  }
  return all;
}

/**
 * What an audit bundle of `region`'s log from `from` cites (BundleOptions.cite), so that `arbiter verify`
 * can check its decisions without the log from seq 0: the activations of the policies they were made under,
 * and every earlier entry of the waivers they rely on.
 */
export function auditCitations(
  reader: LedgerReader,
  waivers: WaiverStore,
  region: string,
  from: number,
): (entries: readonly EntryRecord[]) => Promise<number[]> {
  return async (entries) => {
    if (from === 0) return [];
    const activations = activationsToCite(
      entries,
      await entriesOfType(reader, region, 'policy.activated', from),
    );
    const waiverEntries = await waivers.entrySeqs(region, waiversToCite(entries), from);
    return [...activations, ...waiverEntries];
  };
}
