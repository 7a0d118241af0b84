/** Small integer ids for values, so model states hash cheaply and exactly. */
export type Scalar = string | number | boolean | bigint;

/** Ids by SameValueZero (a Map): `1` and `'1'` get different ids; `undefined` is 0. */
export class Interner<V> {
  private readonly ids = new Map<V, number>();

  id(value: V | undefined): number {
    if (value === undefined) return 0;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(value, id);
    }
    return id;
  }
}
