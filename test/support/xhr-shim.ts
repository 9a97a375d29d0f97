// XMLHttpRequest over fetch, for dicomweb-client (the DICOMweb client OHIF uses), which is written for browsers
// and calls `new XMLHttpRequest()`. Only what that client touches: open, setRequestHeader, responseType, send,
// onreadystatechange/onload/onerror, status, response, getResponseHeader, getAllResponseHeaders.
class FetchXmlHttpRequest {
  readyState = 0;
  status = 0;
  statusText = '';
  responseType: '' | 'arraybuffer' | 'json' | 'text' = '';
  response: unknown = null;
  responseText = '';
  withCredentials = false;
  onreadystatechange: (() => void) | null = null;
  onload: (() => void) | null = null;
  onerror: ((error: unknown) => void) | null = null;
  onloadstart: (() => void) | null = null;
  onloadend: (() => void) | null = null;
  onprogress: (() => void) | null = null;
  #method = 'GET';
  #url = '';
  readonly #headers = new Headers();
  #responseHeaders = new Headers();

  open(method: string, url: string): void {
    this.#method = method;
    this.#url = url;
    this.readyState = 1;
  }

  setRequestHeader(name: string, value: string): void {
    this.#headers.set(name, value);
  }

  getResponseHeader(name: string): string | null {
    return this.#responseHeaders.get(name);
  }

  getAllResponseHeaders(): string {
    return [...this.#responseHeaders].map(([name, value]) => `${name}: ${value}\r\n`).join('');
  }

  send(body?: RequestInit['body']): void {
    void this.#run(body ?? null);
  }

  async #run(body: RequestInit['body']): Promise<void> {
    try {
      const response = await fetch(this.#url, { method: this.#method, headers: this.#headers, body });
      const bytes = await response.arrayBuffer();
      this.status = response.status;
      this.statusText = response.statusText;
      this.#responseHeaders = response.headers;
      const text = this.responseType === 'arraybuffer' ? '' : new TextDecoder().decode(bytes);
      this.responseText = text;
      if (this.responseType === 'arraybuffer') this.response = bytes;
      else if (this.responseType === 'json') this.response = text === '' ? null : JSON.parse(text);
      else this.response = text;
    } catch (error) {
      this.readyState = 4;
      this.onerror?.(error);
      this.onreadystatechange?.();
      return;
    }
    this.readyState = 4;
    this.onreadystatechange?.();
    this.onload?.();
    this.onloadend?.();
  }
}

/** Installs the shim once, process-wide (ava runs each test file in its own worker). */
export function installXmlHttpRequest(): void {
  const scope = globalThis as { XMLHttpRequest?: unknown };
  scope.XMLHttpRequest ??= FetchXmlHttpRequest;
}
