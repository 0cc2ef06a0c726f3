/**
 * Hand-encoded protobuf for the few TensorFlow messages TensorBoard scalars need
 * (field numbers from tensorflow/core/util/event.proto and framework/summary.proto):
 *
 *     Event         { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *     Summary       { repeated Value value = 1; }
 *     Summary.Value { string tag = 1; float simple_value = 2; }
 *
 * Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
 */

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v = BigInt.asUintN(64, v); // int64 negatives are 10-byte two's complement
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const key = (field: number, wireType: number): number[] => varint((field << 3) | wireType);

function lengthDelimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...key(field, 2), ...varint(bytes.length)]), bytes]);
}

export interface ScalarValue {
  tag: string;
  value: number;
}

export interface EventInit {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars?: ScalarValue[];
}

export function encodeEvent(e: EventInit): Buffer {
  const parts: Buffer[] = [];
  const wall = Buffer.alloc(8);
  wall.writeDoubleLE(e.wallTime);
  parts.push(Buffer.from(key(1, 1)), wall);
  parts.push(Buffer.from([...key(2, 0), ...varint(Math.trunc(e.step))]));
  if (e.fileVersion !== undefined) parts.push(lengthDelimited(3, Buffer.from(e.fileVersion, "utf8")));
  if (e.scalars !== undefined) {
    const values = e.scalars.map((s) => {
      const f = Buffer.alloc(4);
      f.writeFloatLE(s.value);
      return lengthDelimited(1, Buffer.concat([lengthDelimited(1, Buffer.from(s.tag, "utf8")), Buffer.from(key(2, 5)), f]));
    });
    parts.push(lengthDelimited(5, Buffer.concat(values)));
  }
  return Buffer.concat(parts);
}

export interface ProtoField {
  field: number;
  wireType: number;
  /** bigint for varints, Buffer for fixed and length-delimited fields. */
  value: bigint | Buffer;
}

/** Decodes one message's fields (no schema: nested messages stay bytes). */
export function decodeFields(buf: Buffer): ProtoField[] {
  const out: ProtoField[] = [];
  let off = 0;
  const readVarint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (off >= buf.length) throw new RangeError("truncated varint");
      const byte = buf[off++]!;
      v |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
      shift += 7n;
    }
  };
  while (off < buf.length) {
    const k = Number(readVarint());
    const field = k >>> 3;
    const wireType = k & 7;
    let value: bigint | Buffer;
    if (wireType === 0) value = readVarint();
    else if (wireType === 1) value = buf.subarray(off, (off += 8));
    else if (wireType === 5) value = buf.subarray(off, (off += 4));
    else if (wireType === 2) {
      const len = Number(readVarint());
      value = buf.subarray(off, (off += len));
    } else throw new RangeError(`unsupported wire type ${wireType} for field ${field}`);
    if (off > buf.length) throw new RangeError(`field ${field} runs past the end of the message`);
    out.push({ field, wireType, value });
  }
  return out;
}

export interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: ScalarValue[];
}

/** Decodes an Event written by `encodeEvent` (for tests and tools reading event files back). */
export function decodeEvent(buf: Buffer): DecodedEvent {
  const e: DecodedEvent = { wallTime: NaN, step: 0, scalars: [] };
  for (const f of decodeFields(buf)) {
    if (f.field === 1 && f.wireType === 1) e.wallTime = (f.value as Buffer).readDoubleLE(0);
    else if (f.field === 2 && f.wireType === 0) e.step = Number(BigInt.asIntN(64, f.value as bigint));
    else if (f.field === 3 && f.wireType === 2) e.fileVersion = (f.value as Buffer).toString("utf8");
    else if (f.field === 5 && f.wireType === 2) {
      for (const v of decodeFields(f.value as Buffer)) {
        if (v.field !== 1 || v.wireType !== 2) continue;
        let tag = "";
        let value = NaN;
        for (const g of decodeFields(v.value as Buffer)) {
          if (g.field === 1 && g.wireType === 2) tag = (g.value as Buffer).toString("utf8");
          if (g.field === 2 && g.wireType === 5) value = (g.value as Buffer).readFloatLE(0);
        }
        e.scalars.push({ tag, value });
      }
    }
  }
  return e;
}
