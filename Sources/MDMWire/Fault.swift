/// A SOAP 1.2 fault as Windows expects it: canonical element case, the subcode as a QName, and the
/// `DeviceEnrollmentServiceError` detail when there is an ErrorType (PROTOCOL.md §7.1; samples 16–18).
public struct SOAPFault: Sendable, Equatable {
    /// The response action of the failed operation (MS-MDE2 style).
    public var action: String
    public var relatesTo: String?
    public var activityID: String
    /// `MessageFormat`, `Authentication`, … ; WCF ones (`InternalServiceFault`, `InvalidSecurity`) set `wcf`.
    public var subcode: String
    public var wcf: Bool
    public var errorType: String?
    public var reason: String
    public var traceID: String

    public init(action: String, relatesTo: String?, activityID: String, subcode: String, wcf: Bool = false,
                errorType: String?, reason: String, traceID: String) {
        self.action = action
        self.relatesTo = relatesTo
        self.activityID = activityID
        self.subcode = subcode
        self.wcf = wcf
        self.errorType = errorType
        self.reason = reason
        self.traceID = traceID
    }

    public func encode() -> String {
        let relates = relatesTo.flatMap { $0.isEmpty ? nil : $0 }.map { "<a:RelatesTo>\(xmlEscape($0))</a:RelatesTo>" } ?? ""
        let value = wcf
            ? "<s:Value xmlns:a=\"\(NS.wcfDispatcher)\">a:\(xmlEscape(subcode))</s:Value>"
            : "<s:Value>s:\(xmlEscape(subcode))</s:Value>"
        // Every fault carries the detail so the TraceId (the attempt id) reaches the device's event log.
        let detail = """
        <s:Detail>\
        <DeviceEnrollmentServiceError xmlns="\(NS.enrollment)">\
        <ErrorType>\(xmlEscape(errorType ?? subcode))</ErrorType>\
        <Message>\(xmlEscape(reason))</Message>\
        <TraceId>\(xmlEscape(traceID))</TraceId>\
        </DeviceEnrollmentServiceError>\
        </s:Detail>
        """
        return """
        <s:Envelope xmlns:s="\(NS.soap)" xmlns:a="\(NS.addressing)">\
        <s:Header>\
        <a:Action s:mustUnderstand="1">\(xmlEscape(action))</a:Action>\
        <ActivityId CorrelationId="\(xmlEscape(activityID))" xmlns="\(NS.diagnostics)">\(xmlEscape(activityID))</ActivityId>\
        \(relates)\
        </s:Header>\
        <s:Body>\
        <s:Fault>\
        <s:Code><s:Value>s:Receiver</s:Value><s:Subcode>\(value)</s:Subcode></s:Code>\
        <s:Reason><s:Text xml:lang="en-US">\(xmlEscape(reason))</s:Text></s:Reason>\
        \(detail)\
        </s:Fault>\
        </s:Body>\
        </s:Envelope>
        """
    }

    /// Reads a fault back (the emulator's side), or nil when the body is not a fault.
    public static func decode(_ env: SOAPEnvelope) -> SOAPFault? {
        let f = env.body
        guard f.name == "Fault", f.namespace == NS.soap else { return nil }
        let sub = f.child(NS.soap, "Code")?.child(NS.soap, "Subcode")?.child(NS.soap, "Value")?.trimmedText ?? ""
        let local = sub.split(separator: ":").last.map(String.init) ?? sub
        let detail = f.child(NS.soap, "Detail")?.child(NS.enrollment, "DeviceEnrollmentServiceError")
        return SOAPFault(
            action: env.header.action, relatesTo: nil, activityID: "",
            subcode: local, wcf: local == "InternalServiceFault" || local == "InvalidSecurity",
            errorType: detail?.child(NS.enrollment, "ErrorType")?.trimmedText,
            reason: f.child(NS.soap, "Reason")?.child(NS.soap, "Text")?.trimmedText ?? "",
            traceID: detail?.child(NS.enrollment, "TraceId")?.trimmedText ?? "")
    }
}
