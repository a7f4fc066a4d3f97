import Crypto
// The Gatehouse side of the SAML verification benchmark: full Response validation (hardened parse, shape
// checks, exclusive C14N, digest, RSA signature, conditions) of one signed Response, on one core.
//   SAMLBench <response.xml> <cert.pem> <seconds> <now ISO 8601> <audience> <acs> -> "verifications/s N"
import Foundation
import SAML

let a = CommandLine.arguments
guard a.count == 7, let xml = FileManager.default.contents(atPath: a[1]),
    let pem = try? String(contentsOfFile: a[2], encoding: .utf8),
    let seconds = Double(a[3]), let now = SAMLTime.parse(a[4])
else {
    FileHandle.standardError.write(Data("usage: SAMLBench response.xml cert.pem seconds now audience acs\n".utf8))
    exit(2)
}
let cert = try Certificate(text: pem)
let bytes = Array(xml)
let e = SAMLExpectations(
    certificates: [cert], issuer: .anyIssuer, audience: a[5], acsURL: a[6], inResponseTo: nil, allowIdPInitiated: true,
    now: now)
do { _ = try SAMLResponseValidator.validate(bytes, e) } catch {
    FileHandle.standardError.write(Data("the fixture does not validate: \(error.reason)\n".utf8))
    exit(1)
}
let clock = ContinuousClock()
let start = clock.now
var n = 0
while clock.now - start < .seconds(seconds) {
    for _ in 0..<50 {
        guard (try? SAMLResponseValidator.validate(bytes, e)) != nil else { exit(1) }
        n += 1
    }
}
let elapsed = clock.now - start
let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print("verifications/s \(Int((Double(n) / secs).rounded()))")
