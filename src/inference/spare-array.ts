/**
 * One Float32Array kept from one call to the next, for arrays needed only during a call
 * (a batch's inputs, its normalized copy): `take` hands it out when the length matches and
 * a new one otherwise, `give` puts it back. A call that overlaps another gets its own, since
 * the spare is out while taken.
 *
 * @example const x = spare.take(n * size); try { ... } finally { spare.give(x); }
 */
export class SpareArray {
  private spare: Float32Array | null = null;

  take(length: number): Float32Array {
    const buf =
      this.spare !== null && this.spare.length === length ? this.spare : new Float32Array(length);
    this.spare = null;
    return buf;
  }

  give(buf: Float32Array): void {
    this.spare = buf;
  }
}
