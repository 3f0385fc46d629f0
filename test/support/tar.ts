/**
 * A minimal tar writer for test fixtures, written independently of the readers under test:
 * ustar (POSIX) or old-GNU headers, GNU long names, pax paths.
 */
export const tarHeader = (name: string, size: number, type: string, format: "posix" | "gnu" = "posix", prefix = ""): Buffer => {
  const block = Buffer.alloc(512)
  block.write(name.slice(0, 100), 0, "utf8")
  block.write("0000644\0", 100)
  block.write("0000000\0", 108)
  block.write("0000000\0", 116)
  block.write(`${size.toString(8).padStart(11, "0")}\0`, 124)
  block.write("00000000000\0", 136)
  block.write("        ", 148)
  block.write(type, 156)
  if (format === "gnu") block.write("ustar  \0", 257)
  else {
    block.write("ustar\0", 257)
    block.write("00", 263)
    block.write(prefix, 345)
  }
  let sum = 0
  for (const byte of block) sum += byte
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148)
  return block
}

export const tarEntry = (name: string, body: string | Buffer, type = "0", format: "posix" | "gnu" = "posix", prefix = ""): Buffer => {
  const data = Buffer.from(body)
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512)
  return Buffer.concat([tarHeader(name, data.length, type, format, prefix), data, padding])
}

export const longNameEntry = (name: string) => tarEntry("././@LongLink", `${name}\0`, "L", "gnu")

export const paxPathEntry = (path: string) => {
  const rest = ` path=${path}\n`
  let length = Buffer.byteLength(rest) + 1
  while (String(length).length + Buffer.byteLength(rest) !== length) length++
  return tarEntry("PaxHeader", `${length}${rest}`, "x")
}

export const tarArchive = (...entries: Array<Buffer>) => Buffer.concat([...entries, Buffer.alloc(1024)])
