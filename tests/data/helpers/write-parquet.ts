/**
 * A minimal Parquet writer for test fixtures (no Parquet writer is installed here): flat,
 * REQUIRED string and int64 columns, PLAIN encoding, no compression, one data page per column
 * chunk, and as many row groups as asked — enough to test reading row group by row group.
 */
import { writeFileSync } from "node:fs";

type Column = { name: string; kind: "string" | "int64" };

/** Thrift compact protocol, only the parts Parquet's footer and page headers use. */
class Compact {
  bytes: number[] = [];
  #last: number[] = [0];
  varint(n: bigint): void {
    let v = n;
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      this.bytes.push(b);
    } while (v > 0n);
  }
  zigzag(n: number | bigint): void {
    const v = BigInt(n);
    this.varint(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }
  field(id: number, type: number): void {
    const delta = id - this.#last.at(-1)!;
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type);
    else {
      this.bytes.push(type);
      this.zigzag(id);
    }
    this.#last[this.#last.length - 1] = id;
  }
  i32(id: number, v: number): void {
    this.field(id, 5);
    this.zigzag(v);
  }
  i64(id: number, v: number): void {
    this.field(id, 6);
    this.zigzag(v);
  }
  binary(id: number | null, v: string): void {
    if (id !== null) this.field(id, 8);
    const b = Buffer.from(v, "utf8");
    this.varint(BigInt(b.length));
    this.bytes.push(...b);
  }
  struct(id: number | null, body: () => void): void {
    if (id !== null) this.field(id, 12);
    this.#last.push(0);
    body();
    this.bytes.push(0);
    this.#last.pop();
  }
  list(id: number, elemType: number, count: number, each: (i: number) => void): void {
    this.field(id, 9);
    if (count < 15) this.bytes.push((count << 4) | elemType);
    else {
      this.bytes.push(0xf0 | elemType);
      this.varint(BigInt(count));
    }
    for (let i = 0; i < count; i++) each(i);
  }
}

/** Writes `rows` (objects with the columns' keys) to `file`, `rowGroupSize` rows per row group. */
export function writeParquet(file: string, columns: Column[], rows: Record<string, string | number>[], rowGroupSize: number): void {
  const out: Buffer[] = [Buffer.from("PAR1")];
  let offset = 4;
  const groups: { chunks: { offset: number; size: number; count: number }[]; rows: number }[] = [];
  for (let start = 0; start < rows.length; start += rowGroupSize) {
    const slice = rows.slice(start, start + rowGroupSize);
    const chunks = columns.map((col) => {
      const values = slice.map((r) => {
        const v = r[col.name]!;
        if (col.kind === "int64") {
          const b = Buffer.alloc(8);
          b.writeBigInt64LE(BigInt(v));
          return b;
        }
        const s = Buffer.from(String(v), "utf8");
        const len = Buffer.alloc(4);
        len.writeUInt32LE(s.length);
        return Buffer.concat([len, s]);
      });
      const data = Buffer.concat(values);
      const header = new Compact();
      header.i32(1, 0); // DATA_PAGE
      header.i32(2, data.length);
      header.i32(3, data.length);
      header.struct(5, () => {
        header.i32(1, slice.length);
        header.i32(2, 0); // PLAIN
        header.i32(3, 3); // RLE
        header.i32(4, 3);
      });
      header.bytes.push(0);
      const chunk = Buffer.concat([Buffer.from(header.bytes), data]);
      const at = offset;
      out.push(chunk);
      offset += chunk.length;
      return { offset: at, size: chunk.length, count: slice.length };
    });
    groups.push({ chunks, rows: slice.length });
  }
  const meta = new Compact();
  meta.i32(1, 1);
  meta.list(2, 12, columns.length + 1, (i) =>
    meta.struct(null, () => {
      if (i === 0) {
        meta.binary(4, "schema");
        meta.i32(5, columns.length);
        return;
      }
      const col = columns[i - 1]!;
      meta.i32(1, col.kind === "int64" ? 2 : 6);
      meta.i32(3, 0); // REQUIRED
      meta.binary(4, col.name);
      if (col.kind === "string") meta.i32(6, 0); // UTF8
    }),
  );
  meta.i64(3, rows.length);
  meta.list(4, 12, groups.length, (g) =>
    meta.struct(null, () => {
      const group = groups[g]!;
      meta.list(1, 12, columns.length, (c) =>
        meta.struct(null, () => {
          const chunk = group.chunks[c]!;
          meta.i64(2, chunk.offset);
          meta.struct(3, () => {
            meta.i32(1, columns[c]!.kind === "int64" ? 2 : 6);
            meta.list(2, 5, 1, () => meta.zigzag(0));
            meta.list(3, 8, 1, () => meta.binary(null, columns[c]!.name));
            meta.i32(4, 0); // UNCOMPRESSED
            meta.i64(5, chunk.count);
            meta.i64(6, chunk.size);
            meta.i64(7, chunk.size);
            meta.i64(9, chunk.offset);
          });
        }),
      );
      meta.i64(
        2,
        group.chunks.reduce((a, c) => a + c.size, 0),
      );
      meta.i64(3, group.rows);
    }),
  );
  meta.bytes.push(0);
  const footer = Buffer.from(meta.bytes);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(footer.length);
  out.push(footer, len, Buffer.from("PAR1"));
  writeFileSync(file, Buffer.concat(out));
}
