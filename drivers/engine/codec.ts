export const DATA_TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'string'] as const;
export const BYTE_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type DataType = (typeof DATA_TYPES)[number];
export type ByteOrder = (typeof BYTE_ORDERS)[number];

/** Registers a data type occupies (strings give their own length). */
export function registerCount(type: DataType, length?: number): number {
  switch (type) {
    case 'bool':
    case 'int16':
    case 'uint16':
      return 1;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'float64':
      return 4;
    case 'string':
      return length ?? 1;
  }
}

/**
 * Puts the bytes of `words` (each register big-endian on the wire, A = most significant byte)
 * into big-endian order for the given byte order:
 * ABCD as is; CDAB swaps words; BADC swaps bytes in each word; DCBA reverses all bytes.
 */
function toBigEndian(words: ArrayLike<number>, order: ByteOrder): Buffer {
  const n = words.length;
  const buf = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const w = words[order === 'CDAB' || order === 'DCBA' ? n - 1 - i : i] ?? 0;
    const swapBytes = order === 'BADC' || order === 'DCBA';
    buf[i * 2] = swapBytes ? w & 0xff : (w >> 8) & 0xff;
    buf[i * 2 + 1] = swapBytes ? (w >> 8) & 0xff : w & 0xff;
  }
  return buf;
}

/** The inverse of toBigEndian: register words for a big-endian value (simulators and tests). */
function fromBigEndian(bytes: Buffer, order: ByteOrder): number[] {
  const n = bytes.length / 2;
  const words = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const hi = bytes[i * 2] ?? 0;
    const lo = bytes[i * 2 + 1] ?? 0;
    const swapBytes = order === 'BADC' || order === 'DCBA';
    const w = swapBytes ? (lo << 8) | hi : (hi << 8) | lo;
    words[order === 'CDAB' || order === 'DCBA' ? n - 1 - i : i] = w;
  }
  return words;
}

/**
 * Text is kept in register order whatever a device does with the words of its numbers: of a
 * string tag's byte order only the byte swap counts (BADC and DCBA swap the two characters of
 * each register; ABCD and CDAB read them as sent).
 */
const textOrder = (order: ByteOrder): ByteOrder => (order === 'BADC' || order === 'DCBA' ? 'BADC' : 'ABCD');

/** Decodes a numeric or string value from registers; strings come back as their text. */
export function decodeRegisters(words: ArrayLike<number>, type: DataType, order: ByteOrder): number | string {
  if (type === 'string') return toBigEndian(words, textOrder(order)).toString('latin1').replace(/\0+$/, '');
  const be = toBigEndian(words, order);
  switch (type) {
    case 'bool':
      return (words[0] ?? 0) !== 0 ? 1 : 0;
    case 'int16':
      return be.readInt16BE(0);
    case 'uint16':
      return be.readUInt16BE(0);
    case 'int32':
      return be.readInt32BE(0);
    case 'uint32':
      return be.readUInt32BE(0);
    case 'float32':
      return be.readFloatBE(0);
    case 'float64':
      return be.readDoubleBE(0);
  }
}

/** Encodes a value into registers (simulators and tests). */
export function encodeRegisters(value: number | string, type: DataType, order: ByteOrder, length?: number): number[] {
  const buf = Buffer.alloc(registerCount(type, length) * 2);
  switch (type) {
    case 'bool':
      return [value ? 1 : 0];
    case 'int16':
      buf.writeInt16BE(Number(value));
      break;
    case 'uint16':
      buf.writeUInt16BE(Number(value));
      break;
    case 'int32':
      buf.writeInt32BE(Number(value));
      break;
    case 'uint32':
      buf.writeUInt32BE(Number(value));
      break;
    case 'float32':
      buf.writeFloatBE(Number(value));
      break;
    case 'float64':
      buf.writeDoubleBE(Number(value));
      break;
    case 'string':
      buf.write(String(value), 'latin1');
      break;
  }
  return fromBigEndian(buf, type === 'string' ? textOrder(order) : order);
}
