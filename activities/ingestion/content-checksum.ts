// The content checksum of a snapshot: a multiset hash of its row hashes (their sum in four 32-bit lanes,
// plus the row count), so the same rows give the same checksum in any order. It is computed while the
// snapshot streams, and compared with the current revision's before anything is staged.
import crypto from 'node:crypto';

export class ContentChecksum {
  private readonly lanes = new Uint32Array(4);
  private rows = 0;

  /** Adds one row hash (32 hex characters, as rowHash makes them). */
  add(rowHashHex: string): void {
    for (let i = 0; i < 4; i++) {
      this.lanes[i] = (this.lanes[i]! + Number.parseInt(rowHashHex.slice(i * 8, i * 8 + 8), 16)) >>> 0;
    }
    this.rows++;
  }

  /** The running state, to carry over to a resumed attempt (heartbeat details). */
  state(): { lanes: number[]; rows: number } {
    return { lanes: Array.from(this.lanes), rows: this.rows };
  }

  /** A checksum that continues from `state`. */
  static from(state: { lanes: number[]; rows: number }): ContentChecksum {
    const checksum = new ContentChecksum();
    checksum.lanes.set(state.lanes);
    checksum.rows = state.rows;
    return checksum;
  }

  digest(): string {
    const sum = Array.from(this.lanes, (l) => l.toString(16).padStart(8, '0')).join('');
    return crypto.createHash('sha256').update(`tedi-content-v2:${this.rows}:${sum}`).digest('hex');
  }
}
