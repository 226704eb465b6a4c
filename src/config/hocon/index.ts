// The HOCON parser's public surface (see document.ts).
export * from './document.js';
export * from './print.js';
