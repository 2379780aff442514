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
    /// Whether an avatar needs a consent attestation (an operator may switch it off, never silently).
    var consentRequired = true

    struct Upload: Decodable {
        var image_url: String?
        /// The portrait of a multipart/form-data upload.
        var image: UploadedFile?
        /// Or a short video of the person speaking.
        var video_url: String?
        var video: UploadedFile?
        var face_index: Int?
        /// The consent attestation for the person shown.
        var consent: Consent.Request?
    }

    func add(to group: RouterGroup<APIContext>) {
        group.post("avatars") { request, context in try await create(request, context) }
        group.get("avatars") { _, context in try await list(context) }
        group.get("avatars/:id") { _, context in AvatarResource(try await avatar(context)) }
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
            if let track = AvatarAnalysis.of(avatar)?.trackBlob { blobs.remove(track) }
            return Response(status: .noContent)
        }
    }

    func create(_ request: Request, _ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let upload = try await request.decode(as: Upload.self, context: context)
        // Consent first: nothing is fetched, stored or analysed for an avatar that cannot be made.
        let consent = consentRequired || upload.consent != nil ? try Consent(upload.consent, key: key) : nil
        let bytes: [UInt8]
        switch (upload.image, upload.image_url, upload.video, upload.video_url) {
        case (let file?, nil, nil, nil): bytes = try file.checked(field: "image", maxBytes: limits.imageBytes)
        case (nil, let url?, nil, nil):
            bytes = try await loader.load(url, field: "image_url", maxBytes: limits.imageBytes)
        case (nil, nil, let file?, nil):
            return try await createFromVideo(
                try file.checked(field: "video", maxBytes: limits.videoBytes), upload: upload, key: key,
                consent: consent)
        case (nil, nil, nil, let url?):
            return try await createFromVideo(
                try await loader.load(url, field: "video_url", maxBytes: limits.videoBytes), upload: upload, key: key,
                consent: consent)
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
        return try await save(
            .portrait(.init(inspection)), image: image, preview: preview.id, key: key, consent: consent)
    }

    /// Stores a new avatar with its analysis and answers 201 with it.
    func save(
        _ analysis: AvatarAnalysis, image: String, preview: String, key: APIKey, consent: Consent?
    ) async throws -> Response {
        let avatar = Avatar(
            id: "avt_" + StoreRules.randomToken(bytes: 12), keyID: key.id, imageBlob: image, previewBlob: preview,
            analysis: try APIJSON.string(analysis), createdAt: Date(), consent: try consent.map(APIJSON.string))
        try await store.addAvatar(avatar)
        return JSONResponse.make(AvatarResource(avatar), status: .created)
    }

    /// A video avatar: the clip is read once (face on every frame, where a clone turns around) and
    /// its first usable frame is the preview.
    func createFromVideo(_ bytes: [UInt8], upload: Upload, key: APIKey, consent: Consent?) async throws -> Response {
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
        return try await save(
            .video(.init(inspection, trackBlob: track)), image: video, preview: preview.id, key: key, consent: consent)
    }

    func list(_ context: APIContext) async throws -> ListResource<AvatarResource> {
        let key = try context.requireKey()
        return ListResource(try await store.avatars(keyID: key.id, limit: 100).map(AvatarResource.init))
    }

    func avatar(_ context: APIContext) async throws -> Avatar {
        let key = try context.requireKey()
        let id = try context.parameters.require("id")
        guard let avatar = try await store.avatar(id, keyID: key.id) else {
            throw MouthpieceError(.notFound, "No avatar \(id).", field: "id")
        }
        return avatar
    }
}
