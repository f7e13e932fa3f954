/** This library's version; test/package.test.ts checks it equals package.json's (no file is read at run time, so a browser has it too). */
export const VERSION = '0.1.0';
