import ArgumentParser
import Face
import Foundation
import MouthpieceCore
import Pipeline

/// `mouthpiece inspect`: what face analysis sees in a portrait.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print the face analysis of a portrait; optionally draw the landmarks and mesh on it.")

    @Option(name: .long, help: "Portrait photo (JPEG, PNG or WebP).")
    var image: String

    @Option(help: "Write a PNG with face boxes, landmarks and the rig's mesh drawn on the portrait.")
    var overlay: String?

    @Option(
        help: ArgumentHelp(
            "Write a PNG of the mouth at 1080p: the portrait's own, then the shapes for a, i, u, o, f, s and m.",
            valueName: "png"))
    var poses: String?

    @Option(name: .customLong("face-index"), help: "Which face to analyse when there are several.")
    var faceIndex: Int?

    @Flag(help: "Print JSON on stdout.")
    var json = false

    func run() throws {
        try Terminal.run(json: json) {
            let inspection = try PortraitInspection(imagePath: image, faceIndex: faceIndex)
            if let overlay { try inspection.writeOverlay(to: overlay) }
            if let poses { try inspection.writePoses(to: poses) }
            let a = inspection.analysis
            if json {
                var object = Self.object(a, overlay: overlay)
                if let poses { object["poses"] = poses }
                object["warnings"] = inspection.warnings.map { ["code": $0.rawValue, "message": $0.message] }
                object["mouth"] = [
                    "open_at_rest": inspection.rig.mouthOpenAtRest,
                    "opening_per_width": (inspection.rig.restOpeningShare * 1000).rounded() / 1000,
                ]
                Terminal.printJSON(object)
                return
            }
            print("portrait: \(a.imageWidth)x\(a.imageHeight), \(a.faces.count) face(s)")
            for (i, face) in a.faces.enumerated() {
                let b = face.box
                let mark = i == a.chosenIndex ? "*" : " "
                print(
                    "\(mark) face \(i): box x=\(Int(b.x)) y=\(Int(b.y)) \(Int(b.width))x\(Int(b.height)), "
                        + "score \(face.score.formatted(2)), eyes \(face.landmarks.interocular.formatted(1)) px apart")
            }
            print("pose: yaw \(a.pose.yaw.formatted(1))°, roll \(a.pose.roll.formatted(1))°")
            print("mesh: \(inspection.rig.rest.count) vertices, \(inspection.rig.triangles.count) triangles")
            print(
                "mouth: "
                    + (inspection.rig.mouthOpenAtRest
                        ? "open at rest, lips apart by \((inspection.rig.restOpeningShare * 100).formatted(0)) % of its width"
                        : "closed at rest"))
            for warning in inspection.warnings { Terminal.warning(warning.rawValue, warning.message) }
            if let overlay { print("overlay: \(overlay)") }
            if let poses { print("poses: \(poses)") }
        }
    }

    static func object(_ a: FaceAnalysis, overlay: String?) -> [String: Any] {
        var object: [String: Any] = [
            "width": a.imageWidth,
            "height": a.imageHeight,
            "chosen_face": a.chosenIndex,
            "faces": a.faces.map { face in
                [
                    "box": ["x": face.box.x, "y": face.box.y, "width": face.box.width, "height": face.box.height],
                    "score": face.score,
                    "interocular": face.landmarks.interocular,
                    "landmarks": face.landmarks.points.map { [$0.x, $0.y] },
                ] as [String: Any]
            },
            "pose": ["yaw_degrees": a.pose.yaw, "roll_degrees": a.pose.roll],
            "warnings": a.warnings.map { ["code": $0.rawValue, "message": $0.message] },
        ]
        if let overlay { object["overlay"] = overlay }
        return object
    }
}
