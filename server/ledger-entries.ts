import { MAX_BUNDLE_ENTRIES, type EntryRecord, type LedgerReader } from '../ledger/index.ts';

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
