/**
 * NumPy's .npy format (version 1.0) for a float32 array: what
 * `numpy.load` reads. The header is a Python dict literal padded with
 * spaces so the data starts on a 64-byte boundary; the data is
 * little-endian, C order.
 */
export const encodeNpy = (data: Float32Array, shape: readonly number[]): Uint8Array => {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1; // magic (6) + version (2) + length (2) + dict + newline
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0); // \x93NUMPY 1.0
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const view = new DataView(out.buffer, 10 + header.length);
  data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
};
