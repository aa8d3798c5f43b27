import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { checkFooterValues } from '../../../../evaluators/readers/rows.ts';

// Thrift compact protocol: a field header is (id delta << 4) | type, a list header (size << 4) | element type,
// with size 15 meaning a varint size follows.
const BINARY = 8;
const LIST = 9;
const STRUCT = 12;

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n & 127) | 128);
  out.push(n);
  return out;
}
/** FileMetaData whose field 5 (key_value_metadata) is a list of `count` elements, each `element`'s bytes. */
function footerWithList(elementType: number, count: number, element: number[]): Uint8Array {
  const head = [(5 << 4) | LIST, 0xf0 | elementType, ...varint(count)];
  const out = new Uint8Array(head.length + count * element.length + 1);
  out.set(head);
  for (let k = 0; k < count; k++) out.set(element, head.length + k * element.length);
  return out; // ends with the STOP byte 0
}
/** The footer of a real file: hyparquet-writer's, of three columns in two row groups. */
function realFooter(): Uint8Array {
  const rows = 10;
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: Array.from({ length: rows }, (_, k) => k), type: 'INT32' },
      { name: 'score', data: Array.from({ length: rows }, (_, k) => k / 10), type: 'DOUBLE' },
      { name: 'group', data: Array.from({ length: rows }, (_, k) => (k % 2 ? 'a' : 'b')), type: 'STRING' },
    ],
    rowGroupSize: rows / 2,
  });
  const length = new DataView(buffer).getUint32(buffer.byteLength - 8, true);
  return new Uint8Array(buffer, buffer.byteLength - 8 - length, length);
}

describe('checkFooterValues', () => {
  it('passes a real footer, whose values it counts as hyparquet would decode them', () => {
    const footer = realFooter();
    expect(() => checkFooterValues(footer)).not.toThrow();
    expect(() => checkFooterValues(footer, 50)).toThrow('its footer holds more than 50 values');
  });

  it('counts list elements, empty strings and empty structs a byte each', () => {
    for (const footer of [footerWithList(BINARY, 1000, [0]), footerWithList(STRUCT, 1000, [0])]) {
      expect(() => checkFooterValues(footer, 1001)).not.toThrow();
      expect(() => checkFooterValues(footer, 999)).toThrow(
        'its footer holds more than 999 values (struct fields and list elements); at most that many are read',
      );
    }
  });

  it('counts the fields of a struct, each its own property, when they hold no bytes of their own', () => {
    // Field 99 (a zigzag varint id) of FileMetaData: a struct of 1,000 true fields with ids 1, 2, 3, …
    const footer = Uint8Array.from([STRUCT, ...varint(99 * 2), ...new Array<number>(1000).fill(0x11), 0, 0]);
    expect(() => checkFooterValues(footer, 1001)).not.toThrow();
    expect(() => checkFooterValues(footer, 999)).toThrow('its footer holds more than 999 values');
  });

  it('refuses a list that declares more elements than bytes follow, before walking it', () => {
    const footer = Uint8Array.from([(5 << 4) | LIST, 0xf0 | BINARY, ...varint(2 ** 31 - 1), 0, 0]);
    expect(() => checkFooterValues(footer)).toThrow(
      'its footer declares a list of 2147483647 elements in the 2 bytes left',
    );
  });

  it('refuses nesting past 64 deep, and types Parquet does not use', () => {
    // Lists of one list each, 70 deep, inside field 5.
    const nested = Uint8Array.from([(5 << 4) | LIST, ...new Array<number>(70).fill(0x10 | LIST), 0x00, 0]);
    expect(() => checkFooterValues(nested)).toThrow('its footer nests more than 64 deep');
    expect(() => checkFooterValues(Uint8Array.from([(5 << 4) | 11, 0, 0]))).toThrow(
      'its footer holds a value of Thrift type 11, which Parquet does not use',
    );
    expect(() => checkFooterValues(Uint8Array.from([(5 << 4) | BINARY, 5, 1]))).toThrow(
      'its footer holds a string of 5 bytes that runs past its end',
    );
  });
});
