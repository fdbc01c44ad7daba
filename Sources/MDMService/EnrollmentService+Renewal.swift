import Foundation
import MDMCore
import MDMPKI
import MDMStorage
import MDMWire

/// Certificate renewal (PROTOCOL.md §10): the device sends a new PKCS#10 wrapped in a PKCS#7 signed with the key of its
/// current certificate, over TLS with that certificate. The signature is the authentication; the TLS certificate,
/// when there is one, must be the same certificate. Every refusal is the NotEligibleToRenew fault (0x80180016).
extension EnrollmentService {
    /// Why a renewal is refused; each says what the administrator can do.
    enum RenewalRefusal: Error {
        case envelope(String)
        case signer(ManagementService.Refusal, notAfter: Date)
        case unknownSigner
        case notActive(EnrollmentState)
        case tlsMismatch
        case changedMeanwhile

        var reason: String {
            switch self {
            case .envelope(let why):
                "The renewal request cannot be verified: \(why)"
            case .signer(.expired, let notAfter):
                "The certificate being renewed expired on \(WireTime.format(notAfter)); an expired certificate cannot be renewed, the device must enroll again."
            case .signer(let r, _):
                "The renewal request is not signed by a usable device certificate: \(r.description)"
            case .unknownSigner:
                "The certificate being renewed belongs to no enrollment of this server (or was already replaced by a certificate the device uses)."
            case .notActive(let state):
                "The enrollment of this certificate is \(state.rawValue); its certificate is revoked and cannot be renewed."
            case .tlsMismatch:
                "The TLS client certificate is not the certificate that signed the renewal request."
            case .changedMeanwhile:
                "The enrollment changed while the renewal was processed (unenrolled or renewed by another request)."
            }
        }
    }

    func renew(_ request: RequestSecurityToken, _ meta: RequestMetadata, body: [UInt8]) async -> ServiceResponse {
        var attempt = newAttempt(.renew, meta)
        let action = Action.requestSecurityTokenResponse
        let relatesTo = request.header.messageID
        // A renewal states little about the device (DeviceType, ApplicationVersion); the rest comes from its enrollment.
        var ignored: [String] = []
        attempt.facts = Self.facts(from: request, notes: &ignored)
        attempt.facts.enrollmentType = nil
        attempt.facts.credential = .certificate
        func refuse(_ r: RenewalRefusal, _ attempt: inout EnrollmentAttempt) async -> ServiceResponse {
            await fail(&attempt, .detail(.notEligibleToRenew, r.reason), action: action, relatesTo: relatesTo, body: body)
        }
        do {
            // 1. The envelope: a PKCS#7 whose signature verifies with the certificate it names.
            let signed: SignedRenewalRequest
            do { signed = try SignedRenewalRequest(der: request.token) } catch {
                return await refuse(.envelope(error.reason), &attempt)
            }
            // 2. The signer: a certificate winmdm's device CA issued, still valid, of an active enrollment. The
            //    enrollment is looked up first so that even a refusal names the device.
            let now = clock.now()
            let signerThumbprint = Thumbprint.sha1(signed.signerDER)
            let known = try await store.enrollment(certificateThumbprint: signerThumbprint)
            if let known {
                attempt.enrollmentID = known.id
                attempt.facts.upn = known.upn
                attempt.facts.deviceID = known.deviceID
                attempt.facts.hwDevID = known.hwDevID
                attempt.facts.deviceName = attempt.facts.deviceName ?? known.deviceName
                attempt.facts.enrollmentType = known.enrollmentType
            }
            do { try DeviceCertificateVerifier(deviceCA: deviceCA).verify(signed.signer, now: now) } catch {
                return await refuse(.signer(ManagementService.Refusal(error), notAfter: signed.signerNotValidAfter), &attempt)
            }
            guard let enrollment = known else { return await refuse(.unknownSigner, &attempt) }
            guard enrollment.state == .active else { return await refuse(.notActive(enrollment.state), &attempt) }
            // 3. The connection: the same certificate, when the TLS layer saw one.
            if let tls = meta.clientCertificate {
                guard Thumbprint.sha1(tls) == signerThumbprint else { return await refuse(.tlsMismatch, &attempt) }
            } else {
                attempt.notes.append("no TLS client certificate; the PKCS#7 signature alone authenticated the renewal")
            }
            if signerThumbprint == enrollment.previousCertificateThumbprint {
                attempt.notes.append("renewed with the previous certificate: the device never used the one issued at the last renewal")
            }
            // 4. The new request, held to the same rules as at enrollment.
            let csr: CertificateRequest
            do { csr = try CertificateRequest(der: signed.certificateRequestDER) } catch {
                return await fail(&attempt, .certificateRequest(error.reason), action: action, relatesTo: relatesTo, body: body)
            }
            attempt.notes += csr.quirks
            attempt.notes.append("PKCS#7 digest \(signed.digestAlgorithm.rawValue); renewing certificate \(signerThumbprint)")
            // 5. Issue, then record: the old certificate stays accepted until the device manages with the new one.
            let cert = try deviceCA.issueDeviceCertificate(for: csr, commonName: enrollment.deviceID, now: now,
                                                           validity: config.certificateValidity)
            do {
                try await store.modifyEnrollment(id: enrollment.id) { e in
                    guard e.state == .active, e.accepts(certificateThumbprint: signerThumbprint) else { throw RenewalRefusal.changedMeanwhile }
                    e.renew(signerThumbprint: signerThumbprint, serial: cert.serialHex, thumbprint: cert.thumbprint,
                            notAfter: cert.notAfter, at: now)
                }
            } catch let r as RenewalRefusal {
                return await refuse(r, &attempt)
            }
            let doc = RenewalProvisioningDocument(clientThumbprint: cert.thumbprint, clientCertificateBase64: cert.base64,
                                                  store: enrollment.enrollmentType == .device ? "System" : "User",
                                                  providerID: config.providerID)
            let response = RequestSecurityTokenResponse(relatesTo: relatesTo, created: now - 300, expires: now + 300,
                                                        provisioningDocument: doc.encode())
            attempt.notes.append("issued certificate \(cert.thumbprint), valid until \(WireTime.format(cert.notAfter))")
            await record(attempt)
            logger.info("certificate renewed", metadata: ["enrollment": .string(enrollment.id), "device": .string(enrollment.deviceID),
                                                          "thumbprint": .string(cert.thumbprint)])
            return .soap(response.encode())
        } catch {
            return await internalFailure(&attempt, error, action: action, relatesTo: relatesTo, body: body)
        }
    }

    /// The active enrollment whose certificate the client presented, if any: a renewing device. A presented certificate
    /// that cannot be used is noted on the attempt (the request then needs a credential of its own).
    func renewingDevice(_ meta: RequestMetadata, notes: inout [String]) async throws -> Enrollment? {
        guard let der = meta.clientCertificate else { return nil }
        do {
            return try await ManagementService.identify(der, deviceCA: deviceCA, store: store, now: clock.now()).0.enrollment
        } catch let refusal as ManagementService.Refusal {
            notes.append("TLS client certificate not accepted: \(refusal.description)")
            return nil
        }
    }
}
