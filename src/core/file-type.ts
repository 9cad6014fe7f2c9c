import type { Stats } from 'node:fs';

/** What a path that is not a regular file is, in words for a message ('a pipe (FIFO)', 'a device'). */
export const fileType = (s: Stats): string =>
  s.isFile()
    ? 'a file'
    : s.isDirectory()
      ? 'a folder'
      : s.isFIFO()
        ? 'a pipe (FIFO)'
        : s.isCharacterDevice() || s.isBlockDevice()
          ? 'a device'
          : s.isSocket()
            ? 'a socket'
            : s.isSymbolicLink()
              ? 'a symbolic link'
              : 'not a regular file';
