import Foundation
import Hummingbird
import MouthpieceCore
import Pipeline
import Store

/// `/v1/avatars`: a portrait (or a short video of the person speaking) analysed once and kept, to
/// make any number of videos from. A video avatar makes clones: its clip is the motion, its mouths
/// the person's own.
struct AvatarRoutes {
    let store: any DataStore
    let blobs: any BlobStorage
    let limits: InputLimits
    let loader: InputLoader

    struct Upload: Decodable {
        var image_url: String?
        /// The portrait of a multipart/form-data upload.
        var image: UploadedFile?
        /// Or a short video of the person speaking.
        var video_url: String?
        var video: UploadedFile?
        var face_index: Int?
    }

    /// Where a video avatar's analysis names its face-track blob (not shown to clients).
    static let trackField = "track_blob"

    /// The face-track blob of a video avatar.
    static func trackBlob(_ avatar: Avatar) -> String? {
        let object = (try? JSONSerialization.jsonObject(with: Data(avatar.analysis.utf8))) as? [String: Any]
        return object?[trackField] as? String
    }

    /// Whether an avatar was made from a video.
    static func isVideo(_ avatar: Avatar) -> Bool { avatar.analysis.contains("\"kind\":\"video\"") }

    func add(to group: RouterGroup<APIContext>) {
        group.post("avatars") { request, context in try await create(request, context) }
        group.get("avatars") { _, context in try await list(context) }
        group.get("avatars/:id") { _, context in await JSONResponse.make(describe(try avatar(context))) }
        group.get("avatars/:id/preview") { _, context in
            let avatar = try await avatar(context)
            return Response(
                status: .ok, headers: [.contentType: "image/png"],
                body: try await FileIO().loadFile(path: blobs.path(avatar.previewBlob), context: context))
        }
        group.delete("avatars/:id") { _, context in
            let key = try context.requireKey()
            let id = try context.parameters.require("id")
            guard let avatar = try await store.deleteAvatar(id, keyID: key.id) else {
                throw MouthpieceError(.notFound, "No avatar \(id).", field: "id")
            }
            // Videos made from it hold their own link to the image, so they are not affected.
            blobs.remove(avatar.imageBlob)
            blobs.remove(avatar.previewBlob)
            if let track = Self.trackBlob(avatar) { blobs.remove(track) }
            return Response(status: .noContent)
        }
    }

    func create(_ request: Request, _ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let upload = try await request.decode(as: Upload.self, context: context)
        let bytes: [UInt8]
        switch (upload.image, upload.image_url, upload.video, upload.video_url) {
        case (let file?, nil, nil, nil): bytes = try file.checked(field: "image", maxBytes: limits.imageBytes)
        case (nil, let url?, nil, nil):
            bytes = try await loader.load(url, field: "image_url", maxBytes: limits.imageBytes)
        case (nil, nil, let file?, nil):
            return try await createFromVideo(
                try file.checked(field: "video", maxBytes: limits.videoBytes), upload: upload, key: key)
        case (nil, nil, nil, let url?):
            return try await createFromVideo(
                try await loader.load(url, field: "video_url", maxBytes: limits.videoBytes), upload: upload, key: key)
        default:
            throw MouthpieceError(
                .invalidParameter,
                "Give one of image_url, video_url, or an uploaded image or video file (multipart/form-data).",
                field: "image_url")
        }
        let image = try blobs.put(bytes)
        let preview = blobs.reservePath(suffix: ".png")
        let path = blobs.path(image)
        // dlib is slow and blocking: off the server's threads.
        let inspection: PortraitInspection
        do {
            inspection = try await APIContext.analyses.withSlot(key.id) {
                try await Offload.run { try PortraitInspection(imagePath: path, faceIndex: upload.face_index) }
            }
            try inspection.writeOverlay(to: preview.path)
        } catch {
            blobs.remove(image)
            throw error
        }
        let a = inspection.analysis
        let box = a.face.box
        let analysis: [String: Any] = [
            "image_width": a.imageWidth, "image_height": a.imageHeight, "faces": a.faces.count,
            "face_index": a.chosenIndex,
            "face_box": [
                "x": box.x.rounded(), "y": box.y.rounded(), "width": box.width.rounded(),
                "height": box.height.rounded(),
            ],
            "pose": [
                // HeadPose is in degrees already.
                "yaw_degrees": (a.pose.yaw * 10).rounded() / 10,
                "roll_degrees": (a.pose.roll * 10).rounded() / 10,
            ],
            "warnings": inspection.warnings.map { ["code": $0.rawValue, "message": $0.message] },
        ]
        return try await save(analysis, image: image, preview: preview.id, key: key)
    }

    /// Stores a new avatar with its analysis and answers 201 with it.
    func save(_ analysis: [String: Any], image: String, preview: String, key: APIKey) async throws -> Response {
        let avatar = Avatar(
            id: "avt_" + StoreRules.randomToken(bytes: 12), keyID: key.id, imageBlob: image, previewBlob: preview,
            analysis: String(
                decoding: try JSONSerialization.data(withJSONObject: analysis, options: [.sortedKeys]), as: UTF8.self),
            createdAt: Date())
        try await store.addAvatar(avatar)
        return JSONResponse.make(describe(avatar), status: .created)
    }

    /// A video avatar: the clip is read once (face on every frame, where a clone turns around) and
    /// its first usable frame is the preview.
    func createFromVideo(_ bytes: [UInt8], upload: Upload, key: APIKey) async throws -> Response {
        let video = try blobs.put(bytes)
        let preview = blobs.reservePath(suffix: ".png")
        let path = blobs.path(video)
        let inspection: VideoInspection
        do {
            inspection = try await APIContext.analyses.withSlot(key.id) {
                try await Offload.run { try VideoInspection(videoPath: path, faceIndex: upload.face_index) }
            }
            try inspection.writePreview(to: preview.path)
        } catch {
            blobs.remove(video)
            throw error
        }
        // The face track is kept, so that clones do not track the clip again.
        let track = try blobs.put(inspection.track.serialized())
        let info = inspection.info
        let analysis: [String: Any] = [
            "kind": "video", "width": info.width, "height": info.height, "fps": info.frameRate.perSecond,
            "frames": inspection.frames, "duration": info.duration, "frames_with_face": inspection.usableFrames,
            "loop": ["first_frame": inspection.turningPoints.first, "last_frame": inspection.turningPoints.last],
            "warnings": [[String: Any]](), Self.trackField: track,
        ]
        return try await save(analysis, image: video, preview: preview.id, key: key)
    }

    func list(_ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        return JSONResponse.make([
            "object": "list", "data": try await store.avatars(keyID: key.id, limit: 100).map(describe),
        ])
    }

    func avatar(_ context: APIContext) async throws -> Avatar {
        let key = try context.requireKey()
        let id = try context.parameters.require("id")
        guard let avatar = try await store.avatar(id, keyID: key.id) else {
            throw MouthpieceError(.notFound, "No avatar \(id).", field: "id")
        }
        return avatar
    }

    func describe(_ avatar: Avatar) -> [String: Any] {
        var out = (try? JSONSerialization.jsonObject(with: Data(avatar.analysis.utf8)) as? [String: Any]) ?? [:]
        out[Self.trackField] = nil
        out["id"] = avatar.id
        out["object"] = "avatar"
        out["created_at"] = avatar.createdAt.formatted(.iso8601)
        out["preview_url"] = "/v1/avatars/\(avatar.id)/preview"
        return out
    }
}
