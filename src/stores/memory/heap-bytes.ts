/* What the memory store's state costs on the heap, as measured with `--expose-gc` and the heap's used size. */

/**
 * A key as the heap holds it: a flat string (16-byte header, characters in 8-byte words; two
 * bytes a character outside Latin-1, charged always as the cheaper bound would undercount), and
 * for keys built by concatenation the cons string that names it.
 */
export function keyBytes(key: string): number {
  return 48 + 2 * key.length;
}
