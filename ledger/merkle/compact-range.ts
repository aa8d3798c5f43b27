import { EMPTY_ROOT, hashChildren } from './hasher.ts';
import { half, isOdd, pow2 } from './tree-math.ts';
import { storedHashIndex, subtreeIndexes } from './stored-hashes.ts';

/** A hash the tree stores, with its dense storage index (see stored-hashes.ts). */
export interface StoredHash {
  readonly index: number;
  readonly hash: Uint8Array;
}

interface Node {
  readonly level: number;
  readonly hash: Uint8Array;
}

/**
 * The right edge of a tree [0, size): the hashes of its maximal complete subtrees, largest first. Appending a
 * leaf needs only these, so integration and fsck keep O(log n) hashes in memory however large the log.
 */
export class CompactRange {
  private constructor(
    private currentSize: number,
    private readonly nodes: Node[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** Storage indexes of the subtree hashes `fromFrontier` needs for a tree of `size` leaves. */
  static frontierIndexes(size: number): number[] {
    return subtreeIndexes(0, size);
  }

  /** Rebuilds the range from the hashes at `frontierIndexes(size)`, in that order. */
  static fromFrontier(size: number, hashes: readonly Uint8Array[]): CompactRange {
    const levels: number[] = [];
    for (let level = 52, rest = size; level >= 0; level--) {
      if (rest >= pow2(level)) {
        levels.push(level);
        rest -= pow2(level);
      }
    }
    if (levels.length !== hashes.length)
      throw new RangeError(`size ${size} needs ${levels.length} frontier hashes`);
    return new CompactRange(
      size,
      levels.map((level, i) => ({ level, hash: hashes[i]! })),
    );
  }

  get size(): number {
    return this.currentSize;
  }

  /** Appends leaf `size`; returns the hashes this leaf adds to storage, in storage order. */
  append(leafHash: Uint8Array): StoredHash[] {
    const n = this.currentSize;
    const added: StoredHash[] = [{ index: storedHashIndex(0, n), hash: leafHash }];
    let node: Node = { level: 0, hash: leafHash };
    // Each trailing 1 bit of n closes a complete subtree with its left neighbour.
    for (let i = n; isOdd(i); i = half(i)) {
      const left = this.nodes.pop()!;
      node = { level: node.level + 1, hash: hashChildren(left.hash, node.hash) };
      added.push({ index: storedHashIndex(node.level, Math.floor(n / pow2(node.level))), hash: node.hash });
    }
    this.nodes.push(node);
    this.currentSize = n + 1;
    return added;
  }

  /** MTH of the leaves appended so far. */
  root(): Uint8Array {
    if (this.nodes.length === 0) return EMPTY_ROOT;
    let h = this.nodes[this.nodes.length - 1]!.hash;
    for (let i = this.nodes.length - 2; i >= 0; i--) h = hashChildren(this.nodes[i]!.hash, h);
    return h;
  }
}
