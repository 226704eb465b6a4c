// The one file of a multipart/form-data body (RFC 7578), as `curl -F filename=@x.tar.gz` sends
// EMQX's backup upload: the part named `field`, its file name and bytes. Pure; bounded by the
// body it is given (the server caps that).

export type FilePart = { readonly filename: string; readonly data: Buffer } | { readonly error: string };

/** The boundary of a `multipart/form-data; boundary=...` content type. */
export function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** The header block's `name` and `filename` (Content-Disposition), lower-cased names. */
function disposition(head: string): { name?: string; filename?: string } {
  const line = head.split('\r\n').find((l) => /^content-disposition:/i.test(l));
  if (!line) return {};
  const param = (key: string): string | undefined => {
    const m = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(line) ?? new RegExp(`;\\s*${key}=([^;\\s]+)`, 'i').exec(line);
    return m ? m[1]!.replace(/\\(.)/g, '$1') : undefined;
  };
  const name = param('name');
  const filename = param('filename');
  return { ...(name !== undefined ? { name } : {}), ...(filename !== undefined ? { filename } : {}) };
}

export function filePart(body: Buffer, boundary: string, field: string): FilePart {
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  if (at < 0) return { error: 'not a multipart/form-data body (no boundary)' };
  for (;;) {
    const after = at + delimiter.length;
    if (body.subarray(after, after + 2).toString('latin1') === '--') break;
    const headStart = after + 2;
    const headEnd = body.indexOf('\r\n\r\n', headStart);
    if (headEnd < 0) return { error: 'a part of the body has no end of headers' };
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headEnd + 4);
    if (next < 0) return { error: 'the body ends inside a part' };
    const d = disposition(body.toString('latin1', headStart, headEnd));
    if (d.name === field) {
      if (d.filename === undefined || d.filename === '') return { error: `the ${field} part carries no file name` };
      // A browser or curl may send a path: only its last element is the name.
      const filename = Buffer.from(d.filename, 'latin1').toString('utf8').split(/[\\/]/).pop()!;
      return { filename, data: body.subarray(headEnd + 4, next) };
    }
    at = next + 2;
  }
  return { error: `no ${field} part in the body` };
}
