// WADO-RS rendered and thumbnail resources (PS3.18 10.4.1.1.3, 8.3.5): one frame rendered by dcmjs-imaging (the
// modality and VOI LUTs, the default window of the instance, photometric interpretation) and encoded as JPEG
// (jpeg-js) or PNG (pngjs), both pure JavaScript so nothing native is needed. Compressed pixel data is decoded by
// dcmjs-imaging's WebAssembly codecs, loaded once on first use. A thumbnail is the same image scaled to fit a box.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { HttpError } from '../http/http-error.ts';

export type RenderedType = 'image/jpeg' | 'image/png';

export interface RenderOptions {
  /** 1-based. */
  frame: number;
  type: RenderedType;
  /** Scale down to fit this box (PS3.18 8.3.5.1.3 viewport), keeping the aspect ratio; never up. */
  viewport?: { width: number; height: number };
  /** JPEG quality 1-100 (PS3.18 8.3.5.1.2). */
  quality: number;
  /** A VOI window instead of the instance's own (PS3.18 8.3.5.1.4); grayscale images only. */
  window?: { center: number; width: number };
}

interface Libraries {
  imaging: typeof import('dcmjs-imaging');
  jpeg: typeof import('jpeg-js');
  PNG: typeof import('pngjs').PNG;
}

let libraries: Promise<Libraries> | undefined;

/** The renderer, the encoders and the codecs, on the first rendering: a hub whose studies nobody views in a
 *  browser does not carry them (~10 MiB, `npm run bench -- footprint`). */
function load(): Promise<Libraries> {
  libraries ??= (async () => {
    const [{ default: imaging }, { default: jpeg }, { PNG }] = await Promise.all([
      import('dcmjs-imaging'),
      import('jpeg-js'),
      import('pngjs'),
    ]);
    const build = path.dirname(createRequire(import.meta.url).resolve('dcmjs-imaging'));
    await imaging.NativePixelDecoder.initializeAsync({
      webAssemblyModulePathOrUrl: path.join(build, 'dcmjs-native-codecs.wasm'),
    });
    return { imaging, jpeg, PNG };
  })().catch((error: unknown) => {
    // Not cached: the next rendering tries again instead of failing for the life of the process.
    libraries = undefined;
    throw error;
  });
  return libraries;
}

/** The media type the Accept header asks for first; JPEG when it names none of ours but allows any image. */
export function renderedType(accept: string | undefined, asked: string | undefined): RenderedType {
  const wanted = (asked ?? accept ?? '*/*').split(',').map((item) => item.split(';')[0]?.trim().toLowerCase());
  for (const type of wanted) {
    if (type === 'image/jpeg' || type === 'image/png') return type;
    if (type === 'image/*' || type === '*/*') return 'image/jpeg';
  }
  throw new HttpError(406, `rendered images are image/jpeg or image/png, not ${asked ?? accept}`);
}

export async function renderFrame(filePath: string, options: RenderOptions): Promise<Buffer> {
  const { imaging, jpeg, PNG } = await load();
  const bytes = await readFile(filePath);
  let rendered: { width: number; height: number; pixels: ArrayBuffer };
  try {
    const image = new imaging.DicomImage(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const frames = image.getNumberOfFrames();
    if (options.frame > frames) throw new HttpError(404, `frame ${options.frame}: the instance has ${frames} frame(s)`);
    const window = options.window;
    rendered = image.render({
      frame: options.frame - 1,
      ...(window === undefined ? {} : { windowLevel: new imaging.WindowLevel(window.width, window.center) }),
    });
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(422, `the image cannot be rendered: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { width, height, pixels } = scaled(rendered, options.viewport);
  if (options.type === 'image/png') {
    const png = new PNG({ width, height });
    png.data = pixels;
    return PNG.sync.write(png);
  }
  return jpeg.encode({ data: pixels, width, height }, options.quality).data;
}

/** RGBA pixels scaled down by nearest neighbour: a thumbnail is for recognising a study, not for reading it. */
function scaled(
  image: { width: number; height: number; pixels: ArrayBuffer },
  box: { width: number; height: number } | undefined,
): { width: number; height: number; pixels: Buffer } {
  const source = Buffer.from(image.pixels);
  if (box === undefined) return { width: image.width, height: image.height, pixels: source };
  const factor = Math.min(1, box.width / image.width, box.height / image.height);
  const width = Math.max(1, Math.round(image.width * factor));
  const height = Math.max(1, Math.round(image.height * factor));
  if (width === image.width && height === image.height) return { width, height, pixels: source };
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(image.height - 1, Math.floor(y / factor));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(image.width - 1, Math.floor(x / factor));
      source.copy(pixels, (y * width + x) * 4, (sy * image.width + sx) * 4, (sy * image.width + sx) * 4 + 4);
    }
  }
  return { width, height, pixels };
}
