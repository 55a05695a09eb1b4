import Foundation
@testable import Quill
import XCTest

/// Reads a file written by the reference implementation (huggingface/safetensors 0.8.0, `safetensors.numpy.save_file`).
///
/// The reference writer orders tensors by dtype then name, not in Quill's order, and its
/// values are `arange(count) * 0.125 - j` for the j-th tensor of the layout, exact in F32.
final class ReferenceFileTests: XCTestCase {
    static let referenceFile = [
        "MAQAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXRfdmVyc2lvbiI6IjEiLCJ2b2NhYl9zaXplIjoiNSIsImhpZGRlbl9zaXpl",
        "IjoiNCIsImxheWVycyI6IjIiLCJ2b2NhYnVsYXJ5IjoiWzMyLDY1LDk3LDgzNjRdIiwiaW5mby5zb3VyY2UiOiJyZWZlcmVuY2Ug",
        "d3JpdGVyIiwiZHJvcG91dCI6IjAuMCIsImZvcm1hdCI6InF1aWxsLmNoYXItbHN0bSIsImNhc2VfZm9sZCI6ImZhbHNlIiwic3Rl",
        "cCI6Ijc3Iiwibm9ybWFsaXphdGlvbiI6Ik5GRCIsImVtYmVkX3NpemUiOiIzIn0sImRlY29kZXIuYmlhcyI6eyJkdHlwZSI6IkYz",
        "MiIsInNoYXBlIjpbNV0sImRhdGFfb2Zmc2V0cyI6WzAsMjBdfSwiZGVjb2Rlci53ZWlnaHQiOnsiZHR5cGUiOiJGMzIiLCJzaGFw",
        "ZSI6WzUsNF0sImRhdGFfb2Zmc2V0cyI6WzIwLDEwMF19LCJlbWJlZGRpbmcud2VpZ2h0Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUi",
        "Ols1LDNdLCJkYXRhX29mZnNldHMiOlsxMDAsMTYwXX0sImxzdG0uYmlhc19oaF9sMCI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpb",
        "MTZdLCJkYXRhX29mZnNldHMiOlsxNjAsMjI0XX0sImxzdG0uYmlhc19oaF9sMSI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMTZd",
        "LCJkYXRhX29mZnNldHMiOlsyMjQsMjg4XX0sImxzdG0uYmlhc19paF9sMCI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMTZdLCJk",
        "YXRhX29mZnNldHMiOlsyODgsMzUyXX0sImxzdG0uYmlhc19paF9sMSI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMTZdLCJkYXRh",
        "X29mZnNldHMiOlszNTIsNDE2XX0sImxzdG0ud2VpZ2h0X2hoX2wwIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsxNiw0XSwiZGF0",
        "YV9vZmZzZXRzIjpbNDE2LDY3Ml19LCJsc3RtLndlaWdodF9oaF9sMSI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMTYsNF0sImRh",
        "dGFfb2Zmc2V0cyI6WzY3Miw5MjhdfSwibHN0bS53ZWlnaHRfaWhfbDAiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzE2LDNdLCJk",
        "YXRhX29mZnNldHMiOls5MjgsMTEyMF19LCJsc3RtLndlaWdodF9paF9sMSI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMTYsNF0s",
        "ImRhdGFfb2Zmc2V0cyI6WzExMjAsMTM3Nl19fSAgAAAgwQAAHsEAABzBAAAawQAAGMEAABDBAAAOwQAADMEAAArBAAAIwQAABsEA",
        "AATBAAACwQAAAMEAAPzAAAD4wAAA9MAAAPDAAADswAAA6MAAAOTAAADgwAAA3MAAANjAAADUwAAAAAAAAAA+AACAPgAAwD4AAAA/",
        "AAAgPwAAQD8AAGA/AACAPwAAkD8AAKA/AACwPwAAwD8AANA/AADgPwAAgMAAAHjAAABwwAAAaMAAAGDAAABYwAAAUMAAAEjAAABA",
        "wAAAOMAAADDAAAAowAAAIMAAABjAAAAQwAAACMAAAADBAAD8wAAA+MAAAPTAAADwwAAA7MAAAOjAAADkwAAA4MAAANzAAADYwAAA",
        "1MAAANDAAADMwAAAyMAAAMTAAABAwAAAOMAAADDAAAAowAAAIMAAABjAAAAQwAAACMAAAADAAADwvwAA4L8AANC/AADAvwAAsL8A",
        "AKC/AACQvwAA4MAAANzAAADYwAAA1MAAANDAAADMwAAAyMAAAMTAAADAwAAAvMAAALjAAAC0wAAAsMAAAKzAAACowAAApMAAAADA",
        "AADwvwAA4L8AANC/AADAvwAAsL8AAKC/AACQvwAAgL8AAGC/AABAvwAAIL8AAAC/AADAvgAAgL4AAAC+AAAAAAAAAD4AAIA+AADA",
        "PgAAAD8AACA/AABAPwAAYD8AAIA/AACQPwAAoD8AALA/AADAPwAA0D8AAOA/AADwPwAAAEAAAAhAAAAQQAAAGEAAACBAAAAoQAAA",
        "MEAAADhAAABAQAAASEAAAFBAAABYQAAAYEAAAGhAAABwQAAAeEAAAIBAAACEQAAAiEAAAIxAAACQQAAAlEAAAJhAAACcQAAAoEAA",
        "AKRAAACoQAAArEAAALBAAAC0QAAAuEAAALxAAADAwAAAvMAAALjAAAC0wAAAsMAAAKzAAACowAAApMAAAKDAAACcwAAAmMAAAJTA",
        "AACQwAAAjMAAAIjAAACEwAAAgMAAAHjAAABwwAAAaMAAAGDAAABYwAAAUMAAAEjAAABAwAAAOMAAADDAAAAowAAAIMAAABjAAAAQ",
        "wAAACMAAAADAAADwvwAA4L8AANC/AADAvwAAsL8AAKC/AACQvwAAgL8AAGC/AABAvwAAIL8AAAC/AADAvgAAgL4AAAC+AAAAAAAA",
        "AD4AAIA+AADAPgAAAD8AACA/AABAPwAAYD8AAIA/AACQPwAAoD8AALA/AADAPwAA0D8AAOA/AADwPwAAgL8AAGC/AABAvwAAIL8A",
        "AAC/AADAvgAAgL4AAAC+AAAAAAAAAD4AAIA+AADAPgAAAD8AACA/AABAPwAAYD8AAIA/AACQPwAAoD8AALA/AADAPwAA0D8AAOA/",
        "AADwPwAAAEAAAAhAAAAQQAAAGEAAACBAAAAoQAAAMEAAADhAAABAQAAASEAAAFBAAABYQAAAYEAAAGhAAABwQAAAeEAAAIBAAACE",
        "QAAAiEAAAIxAAACQQAAAlEAAAJhAAACcQAAAoMAAAJzAAACYwAAAlMAAAJDAAACMwAAAiMAAAITAAACAwAAAeMAAAHDAAABowAAA",
        "YMAAAFjAAABQwAAASMAAAEDAAAA4wAAAMMAAACjAAAAgwAAAGMAAABDAAAAIwAAAAMAAAPC/AADgvwAA0L8AAMC/AACwvwAAoL8A",
        "AJC/AACAvwAAYL8AAEC/AAAgvwAAAL8AAMC+AACAvgAAAL4AAAAAAAAAPgAAgD4AAMA+AAAAPwAAID8AAEA/AABgPwAAgD8AAJA/",
        "AACgPwAAsD8AAMA/AADQPwAA4D8AAPA/AAAAQAAACEAAABBAAAAYQAAAIEAAAChAAAAwQAAAOEA=",
    ].joined()

    func testReadsAModelFileWrittenByTheReferenceImplementation() throws {
        let data = try XCTUnwrap(Data(base64Encoded: Self.referenceFile))
        XCTAssertEqual(data.count, 2456)
        let model = try ModelFile.decode(data, name: "reference.safetensors")
        XCTAssertEqual(model.configuration, ModelConfiguration(vocabularySize: 5, embeddingSize: 3, hiddenSize: 4, layers: 2, dropout: 0))
        XCTAssertEqual(model.vocabulary.scalars.map(\.value), [32, 65, 97, 8364])
        XCTAssertEqual(model.textOptions, TextOptions(form: .nfd, caseFold: false))
        XCTAssertEqual(model.step, 77)
        XCTAssertEqual(model.info, ["source": "reference writer"])
        for (j, slot) in model.weights.layout.slots.enumerated() {
            let values = (0..<slot.count).map { model.weights.view(slot)[$0] }
            XCTAssertEqual(values, (0..<slot.count).map { Float($0) * 0.125 - Float(j) }, slot.name)
        }
        // The reference put the tensors in name order, so the reader really did follow the offsets.
        let file = try SafeTensorsFile(data: data, name: "reference.safetensors")
        XCTAssertEqual(file.tensors.first?.name, "decoder.bias")
        // Written again by Quill, the same model reads back equal.
        let again = try ModelFile.decode(model.data(), name: "again")
        XCTAssertEqual((0..<again.weights.count).map { again.weights.pointer[$0].bitPattern },
                       (0..<model.weights.count).map { model.weights.pointer[$0].bitPattern })
    }
}
