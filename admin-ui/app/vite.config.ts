// Builds the web console into admin-ui/dist, which admin-ui/web-app.ts serves at `/`. Hashed file names under
// assets/ let the hub cache them for a year; index.html stays uncached so a new build is picked up at once.
import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  base: '/',
  build: {
    outDir: path.join(import.meta.dirname, '..', 'dist'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // Inlined assets would become data: URIs the CSP has to allow; files keep it strict.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
});
