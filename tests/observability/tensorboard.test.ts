import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TensorBoardBackend, crc32c, maskedCrc32c, decodeTfRecords, decodeEvent, decodeFields, encodeTfRecord, TfRecordError } from "../../src/observability/index.ts";

test("crc32c matches the RFC 3720 check values", () => {
  assert.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // 32 zero bytes (RFC 3720 B.4)
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test("TensorBoard event file: TFRecord framing with masked CRCs and Event/Summary protobuf fields decode", () => {
  const dir = mkdtempSync(join(tmpdir(), "tf-tb-"));
  let t = 1700000000.5;
  const tb = new TensorBoardBackend({ logDir: dir, now: () => t });
  tb.log(1, { "reward/mean": 0.25, "loss/value": -1.5, "generator/samples": [1, 2] });
  t += 2;
  tb.log(2, { "reward/mean": 0.75 });
  tb.close();
  const files = readdirSync(dir);
  assert.equal(files.length, 1);
  assert.match(files[0]!, /^events\.out\.tfevents\.1700000000\./);
  const bytes = readFileSync(join(dir, files[0]!));

  // Framing by hand for the first record: uint64 length, masked crc of the length, data, masked crc of data.
  const len = Number(bytes.readBigUInt64LE(0));
  assert.equal(bytes.readUInt32LE(8), maskedCrc32c(bytes.subarray(0, 8)));
  assert.equal(bytes.readUInt32LE(12 + len), maskedCrc32c(bytes.subarray(12, 12 + len)));

  const records = decodeTfRecords(bytes);
  assert.equal(records.length, 3);
  // Byte-level, independent of our decoder: 0x09 = field 1 fixed64, 0x10 = field 2 varint, 0x1a = field 3 bytes.
  const expected = Buffer.alloc(8);
  expected.writeDoubleLE(1700000000.5);
  assert.deepEqual(records[0], Buffer.concat([Buffer.from([0x09]), expected, Buffer.from([0x10, 0x00, 0x1a, 13]), Buffer.from("brain.Event:2")]));
  const header = decodeEvent(records[0]!);
  assert.equal(header.fileVersion, "brain.Event:2");
  assert.equal(header.wallTime, 1700000000.5);
  // Raw protobuf fields of the first scalar event: wall_time (1, fixed64), step (2, varint), summary (5, bytes).
  const fields = decodeFields(records[1]!);
  assert.deepEqual(fields.map((f) => [f.field, f.wireType]), [[1, 1], [2, 0], [5, 2]]);
  const summaryValues = decodeFields(fields[2]!.value as Buffer);
  assert.ok(summaryValues.every((v) => v.field === 1 && v.wireType === 2), "Summary.value = 1, repeated message");
  assert.deepEqual(decodeFields(summaryValues[0]!.value as Buffer).map((f) => [f.field, f.wireType]), [[1, 2], [2, 5]], "Value.tag = 1, simple_value = 2 (float)");

  const e1 = decodeEvent(records[1]!);
  assert.equal(e1.step, 1);
  assert.deepEqual(e1.scalars, [{ tag: "reward/mean", value: 0.25 }, { tag: "loss/value", value: -1.5 }], "samples are not scalars");
  const e2 = decodeEvent(records[2]!);
  assert.deepEqual([e2.step, e2.wallTime, e2.scalars], [2, 1700000002.5, [{ tag: "reward/mean", value: 0.75 }]]);
  rmSync(dir, { recursive: true, force: true });
});

test("decodeTfRecords rejects corrupted data", () => {
  const rec = encodeTfRecord(Buffer.from("hello"));
  const bad = Buffer.from(rec);
  bad[13] ^= 1;
  assert.throws(() => decodeTfRecords(bad), (e: unknown) => e instanceof TfRecordError && /data CRC mismatch/.test(e.message));
  assert.throws(() => decodeTfRecords(rec.subarray(0, rec.length - 2)), /file ends first/);
  assert.deepEqual(decodeTfRecords(rec).map((b) => b.toString()), ["hello"]);
});
