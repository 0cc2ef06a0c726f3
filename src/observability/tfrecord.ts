/**
 * TFRecord framing (what TensorBoard event files are made of). Each record is
 *
 *     uint64 length (LE) | uint32 maskedCrc32c(length bytes) | data[length] | uint32 maskedCrc32c(data)
 */
import { maskedCrc32c } from "./crc32c.ts";

export class TfRecordError extends Error {
  override name = "TfRecordError";
}

export function encodeTfRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

/** Splits a TFRecord stream into record payloads, checking both CRCs of each. */
export function decodeTfRecords(buf: Uint8Array): Buffer[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Buffer[] = [];
  let off = 0;
  while (off < b.length) {
    if (off + 12 > b.length) throw new TfRecordError(`truncated record header at byte ${off}`);
    const len = Number(b.readBigUInt64LE(off));
    if (b.readUInt32LE(off + 8) !== maskedCrc32c(b.subarray(off, off + 8))) throw new TfRecordError(`length CRC mismatch at byte ${off}`);
    const start = off + 12;
    if (start + len + 4 > b.length) throw new TfRecordError(`record at byte ${off} claims ${len} bytes; file ends first`);
    const data = b.subarray(start, start + len);
    if (b.readUInt32LE(start + len) !== maskedCrc32c(data)) throw new TfRecordError(`data CRC mismatch in record at byte ${off}`);
    out.push(Buffer.from(data));
    off = start + len + 4;
  }
  return out;
}
