import Foundation
import Media
import MouthpieceCore
import TestSupport
import XCTest

final class ImageDecoderTests: XCTestCase {
    func testDecodesJPEGFixtureAtItsSize() throws {
        let image = try ImageDecoder.decode(path: try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg"))
        XCTAssertEqual(image.width, 565)
        XCTAssertEqual(image.height, 800)
        // A real photograph, not a blank: the pixels vary.
        XCTAssertGreaterThan(Set(image.pixels.prefix(30_000)).count, 50)
    }

    func testFormatIsChosenByContentNotExtension() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let jpeg = try ImageDecoder.decode(path: try TestFiles.fixture("2008_001009.jpg"))
        // PNG bytes under a .jpg name.
        let png = try ImageEncoder.png(jpeg)
        XCTAssertEqual(ImageDecoder.sniff(png), .png)
        try Data(png).write(to: URL(fileURLWithPath: dir + "/really-a-png.jpg"))
        let decoded = try ImageDecoder.decode(path: dir + "/really-a-png.jpg")
        XCTAssertTrue(decoded == jpeg, "PNG is lossless: the round trip must be exact")
        // WebP under a .png name.
        try TestFiles.ffmpeg(["-i", try TestFiles.fixture("2008_001009.jpg"), "-f", "webp", dir + "/really-a-webp.png"])
        let webp = try ImageDecoder.decode(path: dir + "/really-a-webp.png")
        XCTAssertEqual(webp.width, 360)
        XCTAssertEqual(webp.height, 480)
    }

    func testEXIFOrientationIsApplied() throws {
        let path = try TestFiles.fixture("2008_001009.jpg")
        let plain = try ImageDecoder.decode(path: path)
        let jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        for (orientation, size) in [(6, (480, 360)), (8, (480, 360)), (3, (360, 480))] {
            // An APP1 segment with a one-entry TIFF directory: Orientation (0x0112), SHORT, 1.
            var tiff: [UInt8] = Array("II*".utf8) + [0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0]
            tiff += [UInt8(orientation), 0, 0, 0, 0, 0, 0, 0]
            let payload: [UInt8] = Array("Exif".utf8) + [0, 0] + tiff
            let length = payload.count + 2
            let segment: [UInt8] = [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 255)] + payload
            let rotated = try ImageDecoder.decode(bytes: Array(jpeg[0..<2]) + segment + Array(jpeg[2...]))
            XCTAssertEqual([rotated.width, rotated.height], [size.0, size.1], "orientation \(orientation)")
            let (w, h) = (plain.width, plain.height)
            for (x, y) in [(0, 0), (17, 301), (rotated.width - 1, rotated.height - 1)] {
                let expected: (UInt8, UInt8, UInt8)
                switch orientation {
                case 6: expected = plain[y, h - 1 - x]
                case 8: expected = plain[w - 1 - y, x]
                default: expected = plain[w - 1 - x, h - 1 - y]
                }
                XCTAssertTrue(rotated[x, y] == expected, "orientation \(orientation) at \(x),\(y)")
            }
        }
    }

    func testTextFileIsUnsupportedImage() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: dir + "/note.jpg"))
        XCTAssertThrowsError(try ImageDecoder.decode(path: dir + "/note.jpg")) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .unsupportedImage)
        }
    }

    func testTruncatedPNGIsUnsupportedImage() throws {
        let image = try ImageDecoder.decode(path: try TestFiles.fixture("2008_001009.jpg"))
        let png = try ImageEncoder.png(image)
        XCTAssertThrowsError(try ImageDecoder.decode(bytes: Array(png.prefix(png.count / 3)))) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .unsupportedImage)
        }
    }

    func testOverLargeImageIsRefused() throws {
        let path = try TestFiles.fixture("bald_guys.jpg")
        XCTAssertThrowsError(try ImageDecoder.decode(path: path, limits: .init(maxPixels: 1_000_000))) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .imageTooLarge)
        }
        XCTAssertThrowsError(try ImageDecoder.decode(path: path, limits: .init(maxBytes: 100_000))) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .imageTooLarge)
        }
    }

    func testMissingFileIsInputNotFound() {
        XCTAssertThrowsError(try ImageDecoder.decode(path: "/nonexistent/portrait.jpg")) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .inputNotFound)
        }
    }
}
