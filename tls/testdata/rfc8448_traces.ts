/**
 * RFC 8448 ("Example Handshake Traces for TLS 1.3") §3 and §5 as bytes, for replaying the
 * traces through the client (tls/rfc8448_test.ts). Each constant names the RFC step it comes
 * from ("{client}/{server} ..." lines of the trace) and its stated length in octets, which is
 * checked when this module loads. Values already in ./rfc8448.ts (hex) are reused from there.
 *
 * Transcription is checked by the cryptography as well: protected records only open with the
 * keys the trace derives (AES-GCM tags), and the client's own records must come out equal.
 *
 * @module
 */

import { fromHex, toHex } from "../_bytes.ts";
import { rfc8448 } from "./rfc8448.ts";

/** Hex (one string or lines) as bytes, refusing a length other than the RFC states. */
function octets(length: number, hex: string | string[]): Uint8Array {
  const bytes = fromHex(typeof hex === "string" ? hex : hex.join(""));
  if (bytes.length !== length) {
    throw new Error(`RFC 8448 constant of ${bytes.length} octets, the RFC states ${length}`);
  }
  return bytes;
}

/** A plaintext record as the RFC prints it: the 5-octet header (hex), then `message`. */
function record(length: number, header: string, message: Uint8Array): Uint8Array {
  return octets(length, header + toHex(message));
}

// ---------------------------------------------------------------------------------------------
// §3 Simple 1-RTT Handshake (x25519, TLS_AES_128_GCM_SHA256, RSA-PSS CertificateVerify)

/** §3 {client} construct a ClientHello: its random (bytes 6-37 of the message). */
export const SIMPLE_CLIENT_RANDOM: Uint8Array = octets(
  32,
  "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7",
);

/** §3 {client} create an ephemeral x25519 key pair: private key (32 octets). */
export const SIMPLE_CLIENT_PRIVATE_KEY: Uint8Array = octets(32, rfc8448.clientPrivateKey);

/** §3 {client} construct a ClientHello handshake message (196 octets). */
export const SIMPLE_CLIENT_HELLO: Uint8Array = octets(196, rfc8448.clientHello);

/** §3 {client} send handshake record: complete record (201 octets). */
export const SIMPLE_CLIENT_HELLO_RECORD: Uint8Array = octets(
  201,
  "16030100c4" + rfc8448.clientHello,
);

/** §3 {server} send handshake record: complete record (95 octets), the ServerHello. */
export const SIMPLE_SERVER_HELLO_RECORD: Uint8Array = octets(
  95,
  "160303005a" + rfc8448.serverHello,
);

/** §3 {server} derive secret "tls13 c hs traffic": expanded (32 octets). */
export const SIMPLE_CLIENT_HANDSHAKE_TRAFFIC_SECRET: Uint8Array = octets(
  32,
  rfc8448.clientHandshakeTrafficSecret,
);

/** §3 {server} derive secret "tls13 s hs traffic": expanded (32 octets). */
export const SIMPLE_SERVER_HANDSHAKE_TRAFFIC_SECRET: Uint8Array = octets(
  32,
  rfc8448.serverHandshakeTrafficSecret,
);

/** §3 {server} derive write traffic keys for handshake data: key expanded (16 octets). */
export const SIMPLE_SERVER_HANDSHAKE_KEY: Uint8Array = octets(16, rfc8448.serverHandshakeKey);

/** §3 {server} derive write traffic keys for handshake data: iv expanded (12 octets). */
export const SIMPLE_SERVER_HANDSHAKE_IV: Uint8Array = octets(12, rfc8448.serverHandshakeIv);

/** §3 {server} derive read traffic keys for handshake data: key expanded (16 octets). */
export const SIMPLE_CLIENT_HANDSHAKE_KEY: Uint8Array = octets(16, rfc8448.clientHandshakeKey);

/** §3 {server} derive read traffic keys for handshake data: iv expanded (12 octets). */
export const SIMPLE_CLIENT_HANDSHAKE_IV: Uint8Array = octets(12, rfc8448.clientHandshakeIv);

/** §3 {server} construct a Certificate handshake message (445 octets). */
export const SIMPLE_CERTIFICATE_MESSAGE: Uint8Array = octets(445, rfc8448.certificate);

/**
 * §3 the server's certificate (432 octets of DER, inside the Certificate message): a
 * self-signed RSA certificate, CN=rsa, with a 1024-bit modulus.
 */
export const SIMPLE_SERVER_CERTIFICATE: Uint8Array = SIMPLE_CERTIFICATE_MESSAGE.slice(11, 11 + 432);

/** §3 {server} send handshake record: complete record (679 octets): EncryptedExtensions, Certificate, CertificateVerify and Finished under the server handshake keys. */
export const SIMPLE_SERVER_FLIGHT_RECORD: Uint8Array = octets(679, [
  "17030302a2d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35e",
  "df7869fcf40aa40aa2b8ea73f848a7ca07612ef9f945cb960b4068905123ea78",
  "b111b429ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13b",
  "d9aefb0e57f271585b8ea9bb355c7c79020716cfb9b1183ef3ab20e37d57a6b9",
  "d7477609aee6e122a4cf51427325250c7d0e509289444c9b3a648f1d71035d2e",
  "d65b0e3cdd0cbae8bf2d0b227812cbb360987255cc744110c453baa4fcd61092",
  "8d809810e4b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead68694",
  "5ba246ab66e5edd8044b4c6de3fcf2a89441ac66272fd8fb330ef8190579b368",
  "4596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611ea5e22f",
  "4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26",
  "f59ecaba9acbbb317b66d902f4f292a36ac1b639c637ce343117b65962224531",
  "7b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa31c7a84dc3bd7e",
  "1b7a6c7178af36879018e3f252107f243d243dc7339d5684c8b0378bf30244da",
  "8c87c843f5e56eb4c5e8280a2b48052cf93b16499a66db7cca71e4599426f7d4",
  "61e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df881edbe",
  "5a37668936b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb",
  "992f2b992f67f8afe67f76913fa388cb5630c8ca01e0c65d11c66a1e2ac4c859",
  "77b7c7a6999bbf10dc35ae69f5515614636c0b9b68c19ed2e31c0b3b66763038",
  "ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b84",
  "5e275592c12335ee340bbc4fddd502784016e4b3be7ef04dda49f4b440a30cb5",
  "d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e",
  "750edc53370d2b",
]);

/** §3 {server} derive secret "tls13 s ap traffic": expanded (32 octets). */
export const SIMPLE_SERVER_APPLICATION_TRAFFIC_SECRET: Uint8Array = octets(
  32,
  rfc8448.serverApplicationTrafficSecret,
);

/** §3 {server} derive secret "tls13 c ap traffic": expanded (32 octets). */
export const SIMPLE_CLIENT_APPLICATION_TRAFFIC_SECRET: Uint8Array = octets(
  32,
  rfc8448.clientApplicationTrafficSecret,
);

/** §3 {server} derive write traffic keys for application data: key expanded (16 octets). */
export const SIMPLE_SERVER_APPLICATION_KEY: Uint8Array = octets(
  16,
  "9f02283b6c9c07efc26bb9f2ac92e356",
);

/** §3 {server} derive write traffic keys for application data: iv expanded (12 octets). */
export const SIMPLE_SERVER_APPLICATION_IV: Uint8Array = octets(12, "cf782b88dd83549aadf1e984");

/** §3 {client} derive write traffic keys for application data: key expanded (16 octets). */
export const SIMPLE_CLIENT_APPLICATION_KEY: Uint8Array = octets(16, rfc8448.clientApplicationKey);

/** §3 {client} derive write traffic keys for application data: iv expanded (12 octets). */
export const SIMPLE_CLIENT_APPLICATION_IV: Uint8Array = octets(12, rfc8448.clientApplicationIv);

/** §3 {client} construct a Finished handshake message (36 octets). */
export const SIMPLE_CLIENT_FINISHED: Uint8Array = octets(36, rfc8448.clientFinished);

/** §3 {client} send handshake record: complete record (58 octets), the Finished under the client handshake keys. */
export const SIMPLE_CLIENT_FINISHED_RECORD: Uint8Array = octets(58, [
  "170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc",
  "44d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546",
]);

/** §3 {server} generate resumption secret "tls13 resumption": expanded (32 octets), the PSK of the ticket below (nonce 00 00). */
export const SIMPLE_RESUMPTION_PSK: Uint8Array = octets(
  32,
  "4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3",
);

/** §3 {server} construct a NewSessionTicket handshake message (205 octets). */
export const SIMPLE_NEW_SESSION_TICKET: Uint8Array = octets(205, [
  "040000c90000001efad6aac502000000b22c035d829359ee5ff7af4ec9000000",
  "00262a6494dc486d2c8a34cb33fa90bf1b0070ad3c498883c9367c09a2be785a",
  "bc55cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be7fd61d2827",
  "db279cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529",
  "513e3da2677fa5906c5b3f7d8f92f228bda40dda721470f9fbf297b5aea61764",
  "6fac5c03272e970727c621a79141ef5f7de6505e5bfbc388e93343694093934a",
  "e4d3570008002a000400000400",
]);

/** §3 {server} send handshake record: complete record (227 octets), the NewSessionTicket under the server application keys. */
export const SIMPLE_NEW_SESSION_TICKET_RECORD: Uint8Array = octets(227, [
  "17030300de3a6b8f90414a97d6959c3487680de5134a2b240e6cffac116e95d4",
  "1d6af8f6b580dcf3d11d63c758db289a015940252f55713e061dc13e078891a3",
  "8efbcf5753ad8ef170ad3c7353d16d9da773b9ca7f2b9fa1b6c0d4a3d03f75e0",
  "9c30ba1e62972ac46f75f7b981be63439b2999ce13064615139891d5e4c5b406",
  "f16e3fc181a77ca475840025db2f0a77f81b5ab05b94c01346755f69232c8651",
  "9d86cbeeac87aac347d143f9605d64f650db4d023e70e952ca49fe5137121c74",
  "bc2697687e248746d6df353005f3bce18696129c8153556b3b6c6779b37bf159",
  "85684f",
]);

/** §3 {client} send application_data record: payload (50 octets), 00 01 .. 31; the server echoes it. */
export const SIMPLE_APPLICATION_PAYLOAD: Uint8Array = octets(50, rfc8448.clientApplicationPayload);

/** §3 {client} send application_data record: complete record (72 octets). */
export const SIMPLE_CLIENT_APPLICATION_RECORD: Uint8Array = octets(
  72,
  rfc8448.clientApplicationRecord,
);

/** §3 {server} send application_data record: complete record (72 octets). */
export const SIMPLE_SERVER_APPLICATION_RECORD: Uint8Array = octets(72, [
  "17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36",
  "e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf33254",
  "0dd032e167c2955d",
]);

/** §3 {client} send alert record: complete record (24 octets), close_notify. */
export const SIMPLE_CLIENT_ALERT_RECORD: Uint8Array = octets(
  24,
  "1703030013c9872760655666b74d7ff1153efd6db6d0b0e3",
);

/** §3 {server} send alert record: complete record (24 octets), close_notify. */
export const SIMPLE_SERVER_ALERT_RECORD: Uint8Array = octets(
  24,
  "1703030013b58fd67166ebf599d24720cfbe7efa7a8864a9",
);

// ---------------------------------------------------------------------------------------------
// §5 HelloRetryRequest (x25519 share refused, secp256r1 with a cookie, TLS_AES_128_GCM_SHA256)

/** §5 {client} construct a ClientHello: its random (the same in both ClientHellos). */
export const HRR_CLIENT_RANDOM: Uint8Array = octets(
  32,
  "b0b1c5a5aa37c5919f2ed1d5c6fff7fcb7849716945a2b8cee9258a346677b6f",
);

/** §5 {client} create an ephemeral x25519 key pair: private key (32 octets). */
export const HRR_CLIENT_X25519_PRIVATE_KEY: Uint8Array = octets(
  32,
  "0ed02f8e8117efc75ca7ac32aa7e34eda64cdc0ddad154a5e85289f959f63204",
);

/** §5 {client} construct a ClientHello handshake message (180 octets), the first. */
export const HRR_CLIENT_HELLO_1: Uint8Array = octets(180, [
  "010000b00303b0b1c5a5aa37c5919f2ed1d5c6fff7fcb7849716945a2b8cee92",
  "58a346677b6f000006130113031302010000810000000b000900000673657276",
  "6572ff01000100000a00080006001d00170018003300260024001d0020e8e8e3",
  "f3b93a25ed97a14a7dcacb8a272c6288e585c6484d05262fcad062ad1f002b00",
  "03020304000d0020001e04030503060302030804080508060401050106010201",
  "0402050206020202002d00020101001c00024001",
]);

/** §5 {client} send handshake record: complete record (185 octets), the first ClientHello. */
export const HRR_CLIENT_HELLO_1_RECORD: Uint8Array = record(185, "16030100b4", HRR_CLIENT_HELLO_1);

/** §5 {server} send handshake record: complete record (181 octets), the HelloRetryRequest (secp256r1, a 114-octet cookie). */
export const HRR_HELLO_RETRY_REQUEST_RECORD: Uint8Array = octets(181, [
  "16030300b0020000ac0303cf21ad74e59a6111be1d8c021e65b891c2a211167a",
  "bb8c5e079e09e2c8a8339c001301000084003300020017002c0074007271dcd0",
  "4bb88bc3189119398a00000000eefafc76c146b823b096f8aacad365dd003095",
  "3f4edf625636e5f21bb2e23fcc654b1b5b40318d10d137abcbb87574e36e8a1f",
  "025f7dfa5d6e50781b5eda4aa15b0c8be778257d16aa3030e9e7841dd9e4c034",
  "2267e8ca0caf571fb2b7cff0f934b0002b00020304",
]);

/** §5 {client} create an ephemeral P-256 key pair: private key (32 octets). */
export const HRR_CLIENT_P256_PRIVATE_KEY: Uint8Array = octets(
  32,
  "ab5473467e19346ceb0a0414e41da21d4d2445bc3025afe97c4e8dc8d513da39",
);

/** §5 {client} create an ephemeral P-256 key pair: public key (65 octets). */
export const HRR_CLIENT_P256_PUBLIC_KEY: Uint8Array = octets(65, [
  "04a6da7392ec591e17abfd535964b99894d13befb221b3def2ebe3830eac8f01",
  "51812677c4d6d2237e85cf01d6910cfb83954e76ba7352830534159897e80657",
  "80",
]);

/** §5 {client} construct a ClientHello handshake message (512 octets), the second: P-256 share, the cookie, padding. */
export const HRR_CLIENT_HELLO_2: Uint8Array = octets(512, [
  "010001fc0303b0b1c5a5aa37c5919f2ed1d5c6fff7fcb7849716945a2b8cee92",
  "58a346677b6f000006130113031302010001cd0000000b000900000673657276",
  "6572ff01000100000a00080006001d001700180033004700450017004104a6da",
  "7392ec591e17abfd535964b99894d13befb221b3def2ebe3830eac8f01518126",
  "77c4d6d2237e85cf01d6910cfb83954e76ba7352830534159897e8065780002b",
  "0003020304000d0020001e040305030603020308040805080604010501060102",
  "010402050206020202002c0074007271dcd04bb88bc3189119398a00000000ee",
  "fafc76c146b823b096f8aacad365dd0030953f4edf625636e5f21bb2e23fcc65",
  "4b1b5b40318d10d137abcbb87574e36e8a1f025f7dfa5d6e50781b5eda4aa15b",
  "0c8be778257d16aa3030e9e7841dd9e4c0342267e8ca0caf571fb2b7cff0f934",
  "b0002d00020101001c00024001001500af000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000000",
]);

/** §5 {client} send handshake record: complete record (517 octets), the second ClientHello. */
export const HRR_CLIENT_HELLO_2_RECORD: Uint8Array = record(517, "1603030200", HRR_CLIENT_HELLO_2);

/** §5 {server} send handshake record: complete record (128 octets), the ServerHello. */
export const HRR_SERVER_HELLO_RECORD: Uint8Array = octets(128, [
  "160303007b020000770303bb341d847fd789c47c387172dc0c9bf147fccacb50",
  "43d86ca4c598d3ff571b9800130100004f003300450017004104583e054b7a66",
  "672ae020ad9d2686fcc85b5ad41a134a0f03ee72b893052bd85b4c8de6776f5b",
  "04ac07d83540eab3e3d9c547bc6528c4317d294686093a6cad7d002b00020304",
]);

/** §5 {server} derive secret "tls13 c hs traffic": hash (32 octets), over message_hash(ClientHello1), HelloRetryRequest, ClientHello2, ServerHello. */
export const HRR_HELLO_HASH: Uint8Array = octets(
  32,
  "8aa8e828ec2f8a884fec95a3139de01c15a3daa7ff5bfc3f4bfcc21b438d7bf8",
);

/** §5 {server} derive secret "tls13 c hs traffic": expanded (32 octets). */
export const HRR_CLIENT_HANDSHAKE_TRAFFIC_SECRET: Uint8Array = octets(
  32,
  "158aa7ab8855073582b41d674b4055cabcc534728f659314861b4e08e2011566",
);

/** §5 {server} derive secret "tls13 s hs traffic": expanded (32 octets). */
export const HRR_SERVER_HANDSHAKE_TRAFFIC_SECRET: Uint8Array = octets(
  32,
  "3403e781e2af7b6508da28574f6e95a1abf162de83a97927c37672a4a0cef8a1",
);

/** §5 {server} derive write traffic keys for handshake data: key expanded (16 octets). */
export const HRR_SERVER_HANDSHAKE_KEY: Uint8Array = octets(16, "4646bfac1712c426cd78d8a24a8a6f6b");

/** §5 {server} derive write traffic keys for handshake data: iv expanded (12 octets). */
export const HRR_SERVER_HANDSHAKE_IV: Uint8Array = octets(12, "c7d395c08d62f297d13768ea");

/** §5 {server} send handshake record: complete record (667 octets): EncryptedExtensions, Certificate, CertificateVerify and Finished. */
export const HRR_SERVER_FLIGHT_RECORD: Uint8Array = octets(667, [
  "170303029699bee20baf5b7fc727bfab6223928a381e6d0cf9c4da653f9d2a7b",
  "23f7de11cce842d5cf75631763450ffb8b0cc1d238e658af7a12adc86243114a",
  "b14a1da2fae42621ce483fb6242eabfaad52566b02b31d2eddedefeb80e66a99",
  "00d5f973b40c4fdf74719ecf1b68d7f9c3b6ceb903ca13dd1bb8f8187ae33417",
  "e1d152522c5822a1a03ad52c838c55953d610222874cce8e1790b229a2aa0b53",
  "c8d377ee720182951dc6181dc5d90bd1f0105ed1e84aa5f75957c6661897079e",
  "5ea5007449e3197bdc7c9beeedddeafdd844afa5c315ecfe65e576afe9098128",
  "80620ec7048b42d7f5c78d76f299d6d82534bdd8f512febc0ed3814aca470cd8",
  "000d3e1cb9962b052fbb950df683a52c2ba77ed3713b122937a6e5170964e2ab",
  "7969dcd980b3db9b458da7603124d6dc005e4d6e04b4d0c4baf3275db827dbba",
  "0a6db09672171fc057b3851d7e026841e2978fbd2346bbefdd0376bb1108fe9a",
  "cc92189f5650aa5e85d8e8c7b67ac510dba003d3d7e16350bb66d45013efd44c",
  "9b607c0d318c4c7d1a1f5cbc57e20611804e3787d7b4a4b5f08ed8fd70bdaead",
  "e02260b12ab842ef690b4a3ee7911e841b374ecd5ebbbc2a54d047b600336dd7",
  "d0c88b4bc10e58ee6cb656de7247fa20d8e91deb84628608cf80615b62e96c14",
  "91c7ac3755eb6901405d3474fe1ac79d106a0cee56c2577fc88480f96cb6b8c6",
  "81b7b68b53c146093908f350888175bdfb0b1e31ad61e30ba0adfe6d223aa03c",
  "0783b5001a57587c328a9afcfcfb978d1cd4328f7d9d60530e630befd96c0c81",
  "6ee20b0100768ae2a6df51fc68f172740a79af11398ee3be1252491fa9c69347",
  "9e877f94ab7c5f8cad480203e6ab7b87dd71e8a0729113df17f5eee86ce108d1",
  "d72007ec1cd13c85a6c149621e77b7d78d805a30f0be030c315e54",
]);

/** §5 {server} derive secret "tls13 c ap traffic": expanded (32 octets). */
export const HRR_CLIENT_APPLICATION_TRAFFIC_SECRET: Uint8Array = octets(
  32,
  "75ecf4b972525aa0dcd057c9944d4cd5d82671d8843141d7dc2a4ff15a21dc51",
);

/** §5 {server} derive secret "tls13 s ap traffic": expanded (32 octets). */
export const HRR_SERVER_APPLICATION_TRAFFIC_SECRET: Uint8Array = octets(
  32,
  "5c74f87df04225db0f8209c9de6429e49435fdefa7cad61864874d12f31cfc8d",
);

/** §5 {client} send handshake record: complete record (58 octets), the Finished under the client handshake keys. */
export const HRR_CLIENT_FINISHED_RECORD: Uint8Array = octets(58, [
  "1703030035d74f1923c662fd34137c6f502f3dd2b93d951d1b3bc97e42afe23c",
  "31abea92fe91b474999e85e3b791ce252fe8c3e9f939a4120cb2",
]);
