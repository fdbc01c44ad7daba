import Crypto
import Foundation
import MDMCore

/// Seals secrets winmdm must keep and show again (a device's managed local administrator password) with AES-GCM
/// under a key kept outside the database (a 0600 file in the data directory). The context, for example the
/// enrollment id, is authenticated with the secret, so a sealed value copied to another row does not open.
public struct SecretBox: Sendable {
    let key: [UInt8]

    public init(key: [UInt8]) throws(PKIError) {
        guard key.count == 32 else { throw PKIError(.storage, "A secret key is 32 bytes; this one is \(key.count).") }
        self.key = key
    }

    public func seal(_ secret: String, context: String) throws -> String {
        let box = try AES.GCM.seal(Data(secret.utf8), using: SymmetricKey(data: key), authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw PKIError(.storage, "The sealed secret cannot be encoded.") }
        return combined.base64EncodedString()
    }

    public func open(_ sealed: String, context: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw PKIError(.storage, "The sealed secret is not base64.") }
        let plain = try AES.GCM.open(try AES.GCM.SealedBox(combined: data), using: SymmetricKey(data: key), authenticating: Data(context.utf8))
        return String(decoding: plain, as: UTF8.self)
    }
}
