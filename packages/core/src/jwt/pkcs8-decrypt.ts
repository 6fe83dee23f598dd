/**
 * Decrypts an `ENCRYPTED PRIVATE KEY` (PKCS#8 EncryptedPrivateKeyInfo, RFC 5958) with WebCrypto,
 * for runtimes without node:crypto's `createPrivateKey({ passphrase })` (Cloudflare Workers, Deno's
 * fetch paths). WebCrypto imports no encrypted key, but it has the parts: PBKDF2 and AES-CBC. Only
 * the PBES2 scheme (RFC 8018) is read, with PBKDF2 over HMAC-SHA-1/256/384/512 and AES-128/192/256
 * in CBC mode: what OpenSSL 3, Node's `export({ cipher })` and Azure's tools write. The legacy
 * schemes (PBES1, and PKCS#12's with DES, 3DES or RC2) are refused with the command that re-encrypts.
 */

/** A DER TLV: its tag, its content, and where the next one starts. */
interface Tlv {
  readonly tag: number;
  readonly content: Uint8Array;
  readonly end: number;
}

function readTlv(bytes: Uint8Array, offset: number): Tlv {
  const tag = bytes[offset];
  let lengthByte = bytes[offset + 1];
  if (tag === undefined || lengthByte === undefined) throw new Error('truncated DER');
  let position = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let index = 0; index < count; index += 1) {
      lengthByte = bytes[position + index];
      if (lengthByte === undefined) throw new Error('truncated DER');
      length = length * 256 + lengthByte;
    }
    position += count;
  }
  const end = position + length;
  if (end > bytes.length) throw new Error('truncated DER');
  return { tag, content: bytes.subarray(position, end), end };
}

/** The TLVs inside a constructed value. */
function children(parent: Tlv): Tlv[] {
  const items: Tlv[] = [];
  for (let offset = 0; offset < parent.content.length; ) {
    const item = readTlv(parent.content, offset);
    items.push(item);
    offset = item.end;
  }
  return items;
}

function need(item: Tlv | undefined, tag: number, what: string): Tlv {
  if (item?.tag !== tag) throw new Error(`malformed encrypted key: ${what}`);
  return item;
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');

const pbes2 = '2a864886f70d01050d'; // 1.2.840.113549.1.5.13
const pbkdf2 = '2a864886f70d01050c'; // 1.2.840.113549.1.5.12
const prfs: Readonly<Record<string, string>> = {
  '2a864886f70d0207': 'SHA-1', // hmacWithSHA1, the default when the PRF is left out
  '2a864886f70d0209': 'SHA-256',
  '2a864886f70d020a': 'SHA-384',
  '2a864886f70d020b': 'SHA-512',
};
const ciphers: Readonly<Record<string, number>> = {
  '608648016503040102': 16, // aes128-CBC
  '608648016503040116': 24, // aes192-CBC
  '60864801650304012a': 32, // aes256-CBC
};

function integer(content: Uint8Array): number {
  let value = 0;
  for (const byte of content) value = value * 256 + byte;
  return value;
}

/**
 * The PKCS#8 `PrivateKeyInfo` DER inside an encrypted one. Throws an `Error` that says what is wrong
 * (an unsupported scheme, or `wrong password or damaged key` when the decryption's padding fails).
 */
export async function decryptPkcs8(encrypted: Uint8Array, password: string): Promise<Uint8Array> {
  const info = need(readTlv(encrypted, 0), 0x30, 'EncryptedPrivateKeyInfo');
  const [algorithm, data] = children(info);
  const [schemeOid, schemeParameters] = children(need(algorithm, 0x30, 'encryptionAlgorithm'));
  const scheme = hex(need(schemeOid, 0x06, 'scheme').content);
  if (scheme !== pbes2) {
    throw new Error(
      'the key is encrypted with a legacy scheme (PBES1 or PKCS#12: DES, 3DES or RC2), not PBES2; re-encrypt it: openssl pkcs8 -topk8 -v2 aes-256-cbc',
    );
  }
  const [kdf, cipher] = children(need(schemeParameters, 0x30, 'PBES2 parameters'));
  const [kdfOid, kdfParameters] = children(need(kdf, 0x30, 'key derivation'));
  if (hex(need(kdfOid, 0x06, 'key derivation').content) !== pbkdf2) throw new Error('the key derivation is not PBKDF2');
  const kdfFields = children(need(kdfParameters, 0x30, 'PBKDF2 parameters'));
  const salt = need(kdfFields[0], 0x04, 'PBKDF2 salt').content;
  const iterations = integer(need(kdfFields[1], 0x02, 'PBKDF2 iteration count').content);
  if (iterations < 1 || iterations > 10_000_000) throw new Error('PBKDF2 iteration count out of range');
  let hash = 'SHA-1';
  for (const field of kdfFields.slice(2)) {
    if (field.tag !== 0x30) continue; // the optional keyLength INTEGER: the cipher decides it
    const prfOid = hex(need(children(field)[0], 0x06, 'PBKDF2 PRF').content);
    const named = prfs[prfOid];
    if (named === undefined) throw new Error('unsupported PBKDF2 PRF (HMAC-SHA-1, -256, -384 or -512 are read)');
    hash = named;
  }
  const [cipherOid, ivField] = children(need(cipher, 0x30, 'encryption scheme'));
  const keyLength = ciphers[hex(need(cipherOid, 0x06, 'cipher').content)];
  if (keyLength === undefined) throw new Error('unsupported cipher (AES-128, -192 or -256 in CBC mode are read)');
  const iv = need(ivField, 0x04, 'AES IV').content;
  if (iv.length !== 16) throw new Error('malformed encrypted key: AES IV');
  const ciphertext = need(data, 0x04, 'encryptedData').content;

  const passwordKey = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveKey']);
  const aesKey = await crypto.subtle.deriveKey(
    { name: 'PBKDF2', salt: salt as Uint8Array<ArrayBuffer>, iterations, hash },
    passwordKey,
    { name: 'AES-CBC', length: keyLength * 8 },
    false,
    ['decrypt'],
  );
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: 'AES-CBC', iv: iv as Uint8Array<ArrayBuffer> },
      aesKey,
      ciphertext as Uint8Array<ArrayBuffer>,
    );
  } catch {
    throw new Error('wrong password or damaged key');
  }
  const decrypted = new Uint8Array(plain);
  // A wrong password passes the padding check about once in 256: the result is then no DER.
  try {
    if (need(readTlv(decrypted, 0), 0x30, 'PrivateKeyInfo').end !== decrypted.length) throw new Error('trailing bytes');
  } catch {
    throw new Error('wrong password or damaged key');
  }
  return decrypted;
}
