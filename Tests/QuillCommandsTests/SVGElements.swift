import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// The elements of an SVG document in order, each with its attributes and text.
final class SVGElements: NSObject, XMLParserDelegate {
    var found: [(name: String, attributes: [String: String], text: String)] = []
    private var open: [Int] = []

    static func parse(_ text: String) throws -> SVGElements {
        let parser = XMLParser(data: Data(text.utf8))
        let elements = SVGElements()
        parser.delegate = elements
        guard parser.parse() else { throw parser.parserError ?? CocoaError(.fileReadCorruptFile) }
        return elements
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        found.append((name, attributes, ""))
        open.append(found.count - 1)
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let last = open.last { found[last].text += string }
    }

    func all(_ name: String, class kind: String? = nil) -> [[String: String]] {
        found.filter { $0.name == name && (kind == nil || $0.attributes["class"] == kind) }.map(\.attributes)
    }
}


extension XCTestCase {
    /// The (x, y) pairs of a polyline's points.
    func svgCoordinates(_ points: String) -> [(Double, Double)] {
        points.split(separator: " ").map { pair in
            let xy = pair.split(separator: ",").map { Double($0)! }
            return (xy[0], xy[1])
        }
    }

    /// Asserts that the coordinates are an increasing affine image of the steps and a decreasing one of the values.
    func assertCarries(_ coordinates: [(Double, Double)], _ logged: [(Int, Double)], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(coordinates.count, logged.count, "one point per logged value", file: file, line: line)
        guard coordinates.count >= 2, let first = logged.first, let last = logged.last else { return }
        let xScale = (coordinates.last!.0 - coordinates[0].0) / Double(last.0 - first.0)
        let (low, high) = (logged.min { $0.1 < $1.1 }!, logged.max { $0.1 < $1.1 }!)
        let lowY = coordinates[logged.firstIndex { $0 == low }!].1, highY = coordinates[logged.firstIndex { $0 == high }!].1
        let yScale = (lowY - highY) / (high.1 - low.1)
        XCTAssertGreaterThan(xScale, 0, file: file, line: line)
        XCTAssertGreaterThan(yScale, 0, "larger values are drawn higher", file: file, line: line)
        for ((x, y), (step, value)) in zip(coordinates, logged) {
            XCTAssertEqual(x, coordinates[0].0 + Double(step - first.0) * xScale, accuracy: 0.02, "step \(step)", file: file, line: line)
            XCTAssertEqual(y, lowY - (value - low.1) * yScale, accuracy: 0.02, "value at step \(step)", file: file, line: line)
        }
    }
}
