// Types for the `snappyjs` package (it ships none): the two functions we use.
declare module 'snappyjs' {
  /** Decompresses one snappy block; returns the same kind (Buffer, Uint8Array) it was given. */
  export function uncompress<T extends Uint8Array>(compressed: T, maxLength?: number): T;
  export function compress<T extends Uint8Array>(uncompressed: T): T;
}
