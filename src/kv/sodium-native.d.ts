/** The few sodium-native (libsodium bindings) functions src/kv uses; the package ships no types. */
declare module 'sodium-native' {
  type Bytes = Uint8Array;
  const sodium: {
    crypto_aead_xchacha20poly1305_ietf_KEYBYTES: number;
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES: number;
    crypto_aead_xchacha20poly1305_ietf_ABYTES: number;
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(c: Bytes, mac: Bytes, m: Bytes, ad: Bytes | null, nsec: null, npub: Bytes, k: Bytes): number;
    crypto_aead_xchacha20poly1305_ietf_decrypt_detached(m: Bytes, nsec: null, c: Bytes, mac: Bytes, ad: Bytes | null, npub: Bytes, k: Bytes): void;
    crypto_aead_xchacha20poly1305_ietf_encrypt(c: Bytes, m: Bytes, ad: Bytes | null, nsec: null, npub: Bytes, k: Bytes): number;
    crypto_aead_xchacha20poly1305_ietf_decrypt(m: Bytes, nsec: null, c: Bytes, ad: Bytes | null, npub: Bytes, k: Bytes): number;
    crypto_generichash(out: Bytes, input: Bytes, key?: Bytes): void;
    crypto_kdf_derive_from_key(subkey: Bytes, subkeyId: number, ctx: Bytes, key: Bytes): void;
    crypto_kdf_CONTEXTBYTES: number;
    crypto_pwhash(out: Bytes, passwd: Bytes, salt: Bytes, opslimit: number, memlimit: number, alg: number): void;
    crypto_pwhash_SALTBYTES: number;
    crypto_pwhash_ALG_ARGON2ID13: number;
    crypto_pwhash_OPSLIMIT_MIN: number;
    crypto_pwhash_MEMLIMIT_MIN: number;
    crypto_pwhash_OPSLIMIT_INTERACTIVE: number;
    crypto_pwhash_MEMLIMIT_INTERACTIVE: number;
    crypto_pwhash_OPSLIMIT_MODERATE: number;
    crypto_pwhash_MEMLIMIT_MODERATE: number;
    crypto_pwhash_OPSLIMIT_SENSITIVE: number;
    crypto_pwhash_MEMLIMIT_SENSITIVE: number;
    crypto_pwhash_OPSLIMIT_MAX: number;
    crypto_pwhash_MEMLIMIT_MAX: number;
    randombytes_buf(buf: Bytes): void;
    sodium_memcmp(a: Bytes, b: Bytes): boolean;
    sodium_memzero(buf: Bytes): void;
  };
  export default sodium;
}
