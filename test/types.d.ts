declare module 'm3u8-parser';
