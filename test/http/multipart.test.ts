// The multipart/form-data reader on bodies as a browser (undici's FormData, Chromium's boundary style) and a
// careless client write them: fields and files with their bytes untouched, a quoted boundary, and a body cut
// short or without a boundary refused with the reason.
import test from 'ava';
import { boundaryOf, parseForm } from '../../http/multipart.ts';

async function encoded(data: FormData): Promise<{ body: Buffer; boundary: string }> {
  const request = new Request('http://x/', { method: 'POST', body: data });
  const boundary = boundaryOf(request.headers.get('content-type') ?? '');
  return { body: Buffer.from(await request.arrayBuffer()), boundary };
}

test('fields and a binary file come back as sent', async (t) => {
  const bytes = Buffer.from([0, 13, 10, 45, 45, 255, 1, 2, 13, 10]);
  const data = new FormData();
  data.set('title', 'Scan, "signed" – Zoë');
  data.set('file', new Blob([bytes], { type: 'image/tiff' }), 'scan "1".tif');
  const { body, boundary } = await encoded(data);
  const form = parseForm(body, boundary);
  t.is(form.fields.get('title'), 'Scan, "signed" – Zoë');
  t.is(form.files.length, 1);
  t.like(form.files[0], { field: 'file', filename: 'scan "1".tif', contentType: 'image/tiff' });
  t.deepEqual(form.files[0]?.bytes, bytes);
});

test('a quoted boundary is read; a body cut short or of another type is refused', (t) => {
  t.is(boundaryOf('multipart/form-data; boundary="----abc def"'), '----abc def');
  t.throws(() => boundaryOf('application/json'), { message: /expected Content-Type multipart\/form-data/ });
  t.throws(() => boundaryOf('multipart/form-data'), { message: /names no boundary/ });
  const cut = Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.7 ...');
  t.throws(() => parseForm(cut, 'b'), { message: /not closed by its boundary/ });
  t.throws(() => parseForm(Buffer.from('hello'), 'b'), { message: /no boundary line/ });
  const ok = Buffer.from('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--\r\n');
  t.is(parseForm(ok, 'b').fields.get('a'), '1');
});
