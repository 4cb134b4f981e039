/**
 * Hand-made tar archives for the component tests: any entry kind (links, devices, FIFOs, a
 * raw type flag), owner, mode, long or odd names (pax headers), duplicates, and no end
 * blocks on request. Built with node-tar's own Header and Pax encoders, so what the
 * components read is what a real (or a crafted) tar holds.
 */
import { Header, Pax } from "tar";

export type CraftType =
  | "File"
  | "OldFile"
  | "ContiguousFile"
  | "Directory"
  | "SymbolicLink"
  | "Link"
  | "CharacterDevice"
  | "BlockDevice"
  | "FIFO"
  | "GNUDumpDir";

export interface CraftEntry {
  path: string;
  type?: CraftType;
  body?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkpath?: string;
  mtime?: Date;
}

const BLOCK = 512;
const pad = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** One entry's blocks: a pax header when the names need one, the header, the body padded. */
export function craftEntry(e: CraftEntry, rawType?: string): Buffer {
  const type = e.type ?? (e.body !== undefined || e.linkpath === undefined ? "File" : "SymbolicLink");
  const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
  const data = {
    path: e.path,
    type,
    mode: e.mode ?? (type === "Directory" ? 0o755 : 0o644),
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    size: type === "File" || type === "OldFile" || type === "ContiguousFile" ? body.length : 0,
    mtime: e.mtime ?? new Date("2024-01-02T03:04:05Z"),
    ...(e.linkpath !== undefined ? { linkpath: e.linkpath } : {}),
    uname: "",
    gname: "",
  };
  const h = new Header(data);
  const block = Buffer.alloc(BLOCK);
  const needPax = h.encode(block, 0) || /[^\x20-\x7e]/.test(e.path + (e.linkpath ?? ""));
  if (rawType !== undefined) {
    // A type flag node-tar has no name for: patch it in and fix the checksum.
    block.write(rawType.slice(0, 1), 156, "latin1");
    block.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of block) sum += b;
    block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  }
  const parts: Buffer[] = [];
  if (needPax) parts.push(new Pax({ path: e.path, ...(e.linkpath !== undefined ? { linkpath: e.linkpath } : {}), mtime: data.mtime }).encode());
  parts.push(block);
  if (data.size) {
    const b = Buffer.alloc(pad(data.size));
    body.copy(b);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** A whole archive; `end: false` leaves out the two zero blocks. */
export function craftTar(entries: readonly CraftEntry[], o: { end?: boolean } = {}): Buffer {
  return Buffer.concat([...entries.map((e) => craftEntry(e)), ...(o.end === false ? [] : [Buffer.alloc(2 * BLOCK)])]);
}
