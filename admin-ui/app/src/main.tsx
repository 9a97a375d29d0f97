// The web console's entry: Mantine's theme and styles, the session, the routes. The hub's CSP allows styles only
// with the nonce it puts into index.html's csp-nonce meta, so Mantine's own <style> tags carry it too, and so does
// the one its modals add to lock page scrolling (react-remove-scroll, which asks get-nonce). A consultant link's
// viewer (/consult/…) runs without the session, which it has none of.
import '@mantine/core/styles.css';
import 'uplot/dist/uPlot.min.css';
import './console.css';
import { createTheme, MantineProvider } from '@mantine/core';
import { setNonce } from 'get-nonce';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { App } from './App.tsx';
import { ConsultantApp } from './screens/viewer/ConsultantViewer.tsx';
import { SessionProvider } from './session.tsx';

const nonce = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content || undefined;
if (nonce) setNonce(nonce);

const theme = createTheme({
  primaryColor: 'indigo',
  defaultRadius: 'sm',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif',
  fontFamilyMonospace: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
});

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <MantineProvider theme={theme} defaultColorScheme="light" {...(nonce ? { getStyleNonce: () => nonce } : {})}>
        <BrowserRouter>
          {window.location.pathname.startsWith('/consult/') ? (
            <ConsultantApp />
          ) : (
            <SessionProvider>
              <App />
            </SessionProvider>
          )}
        </BrowserRouter>
      </MantineProvider>
    </StrictMode>,
  );
}
